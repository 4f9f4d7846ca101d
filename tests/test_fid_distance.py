"""Frechet distance, KID, bootstrap and FID-infinity against closed forms and scipy."""
import numpy as np
import pytest
import scipy.linalg

from harness.quality.fid.distance import (bootstrap_fid, fid_infinity, frechet_distance, frechet_distance_to_features,
    kid, statistics)


@pytest.mark.parametrize("m1,s1,m2,s2", [(0.0, 1.0, 0.0, 1.0), (1.0, 2.0, -0.5, 0.3), (3.0, 1e-4, 2.0, 9.0)])
def test_one_dimensional_gaussians(m1, s1, m2, s2):
    expected = (m1 - m2) ** 2 + s1 + s2 - 2 * np.sqrt(s1 * s2)
    assert frechet_distance([m1], [[s1]], [m2], [[s2]]) == pytest.approx(expected, abs=1e-12)


def test_commuting_diagonal_covariances():
    rng = np.random.default_rng(1)
    d1, d2, mu1, mu2 = rng.uniform(0.1, 3, 50), rng.uniform(0.1, 3, 50), rng.normal(size=50), rng.normal(size=50)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(d1) - np.sqrt(d2)) ** 2)
    assert frechet_distance(mu1, np.diag(d1), mu2, np.diag(d2)) == pytest.approx(expected, rel=1e-12)


def test_matches_scipy_sqrtm_on_well_conditioned_case():
    rng = np.random.default_rng(2)
    d = 64
    a, b = rng.normal(size=(d, d)), rng.normal(size=(d, d))
    s1, s2 = a @ a.T / d + np.eye(d), b @ b.T / d + 0.5 * np.eye(d)
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    ref = (mu1 - mu2) @ (mu1 - mu2) + np.trace(s1 + s2 - 2 * scipy.linalg.sqrtm(s1 @ s2).real)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(ref, rel=1e-10)


def test_identical_sets_give_zero_and_rank_deficient_is_finite():
    f = np.random.default_rng(3).normal(size=(10, 32)).astype(np.float32)  # rank-deficient covariance
    mu, sigma = statistics(f)
    assert sigma.dtype == np.float64 and sigma.shape == (32, 32)
    # zero eigenvalues carry ~1e-16 noise whose square roots add up to ~1e-6: tiny against the trace
    assert abs(frechet_distance(mu, sigma, mu, sigma)) < 1e-6 * np.trace(sigma)


@pytest.mark.parametrize("n", [5, 40, 200])
def test_features_form_equals_covariance_form(n):
    rng = np.random.default_rng(n)
    real, fake = rng.normal(size=(300, 64)), rng.normal(0.2, 0.9, size=(n, 64))
    mu, sigma = statistics(real)
    expected = frechet_distance(mu, sigma, *statistics(fake))
    # rel 1e-7: for n <= d the d x d route adds square roots of ~1e-16 noise on its d - n + 1 zero eigenvalues
    assert frechet_distance_to_features(mu, sigma, fake) == pytest.approx(expected, rel=1e-7)


def test_kid_identical_sets_near_zero_and_seeded():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(300, 16))
    shifted = kid(x, x + 0.5, n_subsets=50, subset_size=100, seed=0)[0]
    # the same set (subsets overlap, a small negative bias) and two halves of one sample: ~0 against a shift
    assert abs(kid(x, x, n_subsets=50, subset_size=100, seed=0)[0]) < 0.1 * shifted
    mean = kid(x[:150], x[150:], n_subsets=50, subset_size=100, seed=0)[0]
    assert abs(mean) < 0.1 * shifted
    assert kid(x, x[::-1], 5, 50, seed=7) == kid(x, x[::-1], 5, 50, seed=7)


def test_kid_matches_direct_unbiased_mmd_on_full_sets():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(40, 8)), rng.normal(0.3, 1, size=(40, 8))
    k = lambda a, b: (a @ b.T / 8 + 1) ** 3  # noqa: E731
    n = len(x)
    off = lambda m: (m.sum() - np.trace(m)) / (n * (n - 1))  # noqa: E731
    expected = off(k(x, x)) + off(k(y, y)) - 2 * k(x, y).mean()
    mean, std = kid(x, y, n_subsets=3, subset_size=40, seed=0)  # a subset of the whole set is the set
    assert mean == pytest.approx(expected, rel=1e-10) and std < 1e-12


def test_bootstrap_is_seeded_and_brackets_the_estimate():
    rng = np.random.default_rng(6)
    real, fake = rng.normal(size=(400, 8)), rng.normal(0.2, 1.1, size=(400, 8))
    mu, sigma = statistics(real)
    a, b = bootstrap_fid(mu, sigma, fake, 30, seed=1), bootstrap_fid(mu, sigma, fake, 30, seed=1)
    assert a == b and a["ci"][0] < frechet_distance(mu, sigma, *statistics(fake)) < a["ci"][1]


def test_fid_infinity_refuses_small_n():
    real = np.random.default_rng(7).normal(size=(100, 4))
    mu, sigma = statistics(real)
    with pytest.raises(ValueError, match="2048"):
        fid_infinity(mu, sigma, real)
    with pytest.raises(ValueError, match="rank-deficient"):
        fid_infinity(mu, sigma, np.zeros((5000, 4)), ns=[1000, 5000])


def test_fid_infinity_removes_the_one_over_n_bias():
    rng = np.random.default_rng(8)
    d, shift = 32, 0.1
    mu, sigma = np.zeros(d), np.eye(d)  # the true real statistics
    fake = rng.normal(shift, 1, size=(6000, d))
    out = fid_infinity(mu, sigma, fake, seed=0)
    assert all(n > 2048 for n in out["ns"]) and out["ns"][-1] == 6000
    assert out["fid_inf"] == pytest.approx(d * shift**2, abs=0.02)
    assert out["fid_inf"] < out["fids"][0]
