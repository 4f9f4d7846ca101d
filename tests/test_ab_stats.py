"""Paired A/B statistics: known shifts on synthetic samples, closed forms, and the MDE checked by simulation."""
import math

import numpy as np
import pytest

from harness.ab import stats as ab_stats
from harness.judge.verdicts import AB_EXIT_CODES, Verdict

IMPROVED, INCONCLUSIVE, NO_CHANGE, REGRESSED = Verdict.IMPROVED, Verdict.INCONCLUSIVE, Verdict.NO_CHANGE, Verdict.REGRESSED


def paired(shift: float, n: int, sigma: float, seed: int = 0):
    """Return base and head samples sharing a per-pair machine state, head slower by ``shift`` (relative)."""
    rng = np.random.default_rng(seed)
    state = np.exp(rng.normal(0, 0.3, n))  # drift that hits both sides of a pair
    base = 0.1 * state * np.exp(rng.normal(0, sigma / math.sqrt(2), n))
    head = 0.1 * (1 + shift) * state * np.exp(rng.normal(0, sigma / math.sqrt(2), n))
    return base, head


def test_log_ratios_pair_by_index_and_drop_bad_pairs():
    d = ab_stats.log_ratios([1.0, 2.0, 0.0, 4.0, float("nan")], [2.0, 2.0, 1.0, 1.0, 1.0])
    np.testing.assert_allclose(d, [math.log(2), 0.0, math.log(0.25)])
    with pytest.raises(ValueError, match="equal lengths"):
        ab_stats.log_ratios([1.0], [1.0, 2.0])


def test_block_log_ratios_average_each_block():
    base = [1.0, 1.0, 1.0, 2.0, 1.0, 0.0]
    head = [2.0, 0.5, 1.0, 2.0, 3.0, 1.0]
    d = ab_stats.block_log_ratios(base, head, [0, 0, 1, 1, 2, 2])
    np.testing.assert_allclose(d, [0.0, 0.0, math.log(3)])  # log 2 and log 0.5 cancel; the 0 sample is dropped
    with pytest.raises(ValueError, match="equal lengths"):
        ab_stats.block_log_ratios([1.0], [1.0], [0, 1])


def test_pairing_cancels_shared_drift():
    base, head = paired(0.10, 60, 0.02)
    d = ab_stats.log_ratios(base, head)
    assert ab_stats.robust_sigma(d) < 0.04  # the 30% drift shared by a pair is gone
    ratio, lo, hi = ab_stats.median_ratio_ci(d)
    assert lo < 1.10 < hi and lo > 1.05


def test_robust_sigma_of_normal_samples_is_their_sd():
    x = np.random.default_rng(1).normal(0, 0.05, 20000)
    assert ab_stats.robust_sigma(x) == pytest.approx(0.05, rel=0.03)


def test_constant_ratios_have_a_degenerate_ci():
    assert ab_stats.median_ratio_ci(np.full(12, math.log(1.2))) == pytest.approx((1.2, 1.2, 1.2))


def test_signed_rank_p_all_pairs_slower_is_two_to_minus_n():
    d = np.linspace(0.01, 0.1, 10)  # distinct, all positive: exact null distribution gives 1 / 2**10
    assert ab_stats.signed_rank_p(d, "greater") == pytest.approx(1 / 1024)
    assert ab_stats.signed_rank_p(d, "less") == pytest.approx(1.0)
    assert ab_stats.signed_rank_p(np.zeros(5), "greater") == 1.0


@pytest.mark.parametrize("shift, expected", [(0.10, REGRESSED), (0.0, NO_CHANGE), (-0.10, IMPROVED)])
def test_decide_finds_known_shift(shift, expected):
    base, head = paired(shift, 40, 0.02)
    v = ab_stats.decide(ab_stats.log_ratios(base, head), threshold=0.05)
    assert v.verdict == expected, v.reason


def test_decide_waits_for_min_pairs_and_for_a_narrow_ci():
    base, head = paired(0.10, 6, 0.02)
    assert ab_stats.decide(ab_stats.log_ratios(base, head), 0.05, min_n=10).verdict == INCONCLUSIVE
    base, head = paired(0.0, 12, 0.30)  # too noisy to exclude a 5% slowdown
    assert ab_stats.decide(ab_stats.log_ratios(base, head), 0.05).verdict == INCONCLUSIVE


def test_small_shift_below_threshold_is_no_change():
    base, head = paired(0.02, 80, 0.02)
    assert ab_stats.decide(ab_stats.log_ratios(base, head), 0.05).verdict == NO_CHANGE


def test_mde_closed_form_terms():
    z = 1.6448536269514722
    # with no threshold the test term dominates: (z_{1-alpha} + z_power) sigma / sqrt(3/pi n)
    expected = (2.3263478740408408 + z) * 0.02 / math.sqrt(3 / math.pi * 25)
    assert ab_stats.mde(0.02, 25, 0.0, 0.01) == pytest.approx(math.expm1(expected))
    # with a large threshold the estimate must clear it: log1p(t) + z sqrt(pi/2) sigma / sqrt(n)
    expected = math.log1p(0.2) + z * math.sqrt(math.pi / 2) * 0.02 / 5
    assert ab_stats.mde(0.02, 25, 0.2, 0.01) == pytest.approx(math.expm1(expected))
    assert math.isnan(ab_stats.mde(float("nan"), 10, 0.05, 0.01))


def test_mde_has_about_95_percent_power_by_simulation():
    sigma, n, threshold, alpha = 0.03, 40, 0.05, 0.01
    effect = ab_stats.mde(sigma, n, threshold, alpha)
    rng = np.random.default_rng(7)
    found = sum(ab_stats.decide(rng.normal(math.log1p(effect), sigma, n), threshold, alpha, seed=i).verdict
                == REGRESSED for i in range(300))
    assert 0.88 <= found / 300 <= 0.995
    half = sum(ab_stats.decide(rng.normal(math.log1p(threshold), sigma, n), threshold, alpha).verdict
               == REGRESSED for _ in range(300))
    assert half / 300 < 0.7  # at the threshold itself the power is far from 95%


def test_overall_is_the_worst_entry():
    assert ab_stats.overall([NO_CHANGE, IMPROVED]) == NO_CHANGE
    assert ab_stats.overall([NO_CHANGE, INCONCLUSIVE]) == INCONCLUSIVE
    assert ab_stats.overall([INCONCLUSIVE, REGRESSED, IMPROVED]) == REGRESSED
    assert [AB_EXIT_CODES[v] for v in (REGRESSED, INCONCLUSIVE, NO_CHANGE, IMPROVED)] == [1, 3, 0, 0]
