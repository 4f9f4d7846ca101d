"""FID, KID, bootstrap confidence intervals and FID-infinity from feature arrays (float64, no sqrtm)."""
from __future__ import annotations

import numpy as np

FID_INF_MIN_N = 2048


def statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the float64 mean and covariance (N - 1 normalisation) of (N, d) features."""
    f = np.asarray(features, dtype=np.float64)
    if len(f) < 2:
        raise ValueError(f"need at least 2 feature vectors for a covariance, got {len(f)}")
    return f.mean(axis=0), np.cov(f, rowvar=False)


def sqrt_psd(sigma: np.ndarray) -> np.ndarray:
    """Return the symmetric square root of a PSD matrix via ``eigh`` (tiny negative eigenvalues clipped to 0)."""
    w, v = np.linalg.eigh(sigma)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu1, sigma1, mu2, sigma2, sqrt_sigma1: np.ndarray | None = None) -> float:
    """Return ``||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))`` in float64.

    ``Tr (S1 S2)^(1/2)`` is the sum of the square roots of the eigenvalues of the symmetric matrix
    ``S1^(1/2) S2 S1^(1/2)``; pass ``sqrt_sigma1`` to reuse ``S1^(1/2)`` across calls.
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
    r1 = sqrt_psd(s1) if sqrt_sigma1 is None else sqrt_sigma1
    m = r1 @ s2 @ r1
    tr_covmean = np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0, None)).sum()
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * tr_covmean)


def frechet_distance_to_features(mu1, sigma1, features: np.ndarray, sqrt_sigma1: np.ndarray | None = None) -> float:
    """Return ``frechet_distance(mu1, sigma1, *statistics(features))``, cheaper when N - 1 < d.

    With ``Y`` the centred features, ``S1^(1/2) S2 S1^(1/2) = B^T B`` for ``B = Y S1^(1/2) / sqrt(N - 1)``, whose
    non-zero eigenvalues are those of the N x N matrix ``B B^T``: an N x N eigenproblem instead of d x d.
    """
    f = np.asarray(features, dtype=np.float64)
    n, d = f.shape
    if n - 1 >= d:
        return frechet_distance(mu1, sigma1, *statistics(f), sqrt_sigma1=sqrt_sigma1)
    r1 = sqrt_psd(np.asarray(sigma1, np.float64)) if sqrt_sigma1 is None else sqrt_sigma1
    mu2 = f.mean(axis=0)
    b = (f - mu2) @ r1 / np.sqrt(n - 1)
    tr_covmean = np.sqrt(np.clip(np.linalg.eigvalsh(b @ b.T), 0, None)).sum()
    diff = np.asarray(mu1, np.float64) - mu2
    return float(diff @ diff + np.trace(sigma1) + ((f - mu2) ** 2).sum() / (n - 1) - 2 * tr_covmean)


def kid(real: np.ndarray, fake: np.ndarray, n_subsets: int = 100, subset_size: int = 1000,
        seed: int = 0) -> tuple[float, float]:
    """Return the mean and std over random subsets of the unbiased MMD^2 with kernel ``(x.y / d + 1)^3``.

    Each subset draws ``min(subset_size, len(real), len(fake))`` rows of each set without replacement, from a
    ``numpy.random.default_rng(seed)`` stream (the KID of Binkowski et al. 2018, as in torch-fidelity).
    """
    x_all, y_all = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    m, d = min(subset_size, len(x_all), len(y_all)), x_all.shape[1]
    if m < 2:
        raise ValueError("KID needs at least 2 images in each set")
    rng = np.random.default_rng(seed)
    values = np.empty(n_subsets)
    for i in range(n_subsets):
        x = x_all[rng.choice(len(x_all), m, replace=False)]
        y = y_all[rng.choice(len(y_all), m, replace=False)]
        kxx, kyy, kxy = ((a @ b.T / d + 1) ** 3 for a, b in ((x, x), (y, y), (x, y)))
        within = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
        values[i] = within - 2 * kxy.mean()
    return float(values.mean()), float(values.std())


def bootstrap_fid(mu_real, sigma_real, fake: np.ndarray, rounds: int, seed: int = 0,
                  level: float = 0.95) -> dict:
    """Return a percentile bootstrap CI of FID, resampling the fake features with replacement (seeded)."""
    rng = np.random.default_rng(seed)
    r1 = sqrt_psd(sigma_real)
    samples = np.array([frechet_distance_to_features(mu_real, sigma_real, fake[rng.integers(0, len(fake), len(fake))],
                                                     sqrt_sigma1=r1) for _ in range(rounds)])
    lo, hi = np.percentile(samples, [50 * (1 - level), 50 * (1 + level)])
    return {"rounds": rounds, "seed": seed, "level": level, "ci": [float(lo), float(hi)],
            "mean": float(samples.mean()), "std": float(samples.std(ddof=1)) if rounds > 1 else 0.0}


def fid_inf_sizes(n: int, ns=None) -> list[int]:
    """Return the FID-infinity subset sizes for ``n`` fake images; raise ValueError unless all are in (2048, n]."""
    ns = sorted({int(k) for k in (np.linspace(max(FID_INF_MIN_N + 1, n // 5), n, 10) if ns is None else ns)})
    if not ns or ns[0] <= FID_INF_MIN_N or ns[-1] > n:
        raise ValueError(f"FID-infinity needs every subset size N in ({FID_INF_MIN_N}, {n}] (got {ns} for {n} fake "
                         f"images): with N <= {FID_INF_MIN_N} the covariance is rank-deficient and FID_N is not linear "
                         f"in 1/N. Use at least {FID_INF_MIN_N + 1} fake images (5,000-50,000 is usual).")
    return ns


def fid_infinity(mu_real, sigma_real, fake: np.ndarray, ns=None, seed: int = 0) -> dict:
    """Return FID-infinity: the intercept of a linear fit of FID_N against 1/N over random fake subsets.

    ``ns`` defaults to 10 sizes evenly spaced from ``max(2049, N / 5)`` to N; every size must exceed 2048
    (below it the covariance is rank-deficient and the 1/N bias model breaks; Chong & Forsyth 2020).
    """
    n = len(fake)
    ns = fid_inf_sizes(n, ns)
    rng = np.random.default_rng(seed)
    r1 = sqrt_psd(sigma_real)
    fids = [frechet_distance(mu_real, sigma_real, *statistics(fake[rng.choice(n, k, replace=False)]), sqrt_sigma1=r1)
            for k in ns]
    slope, intercept = np.polyfit(1.0 / np.array(ns), fids, 1)
    return {"fid_inf": float(intercept), "slope": float(slope), "ns": ns, "fids": [float(f) for f in fids],
            "seed": seed}
