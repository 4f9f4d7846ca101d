"""Paired A/B statistics: known shifts, closed forms, and the sequential design's error rates by simulation."""
import math

import numpy as np
import pytest
from scipy import stats

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
    assert np.std(d) < 0.04  # the 30% drift shared by a pair is gone
    assert abs(math.expm1(d.mean()) - 0.10) < 0.02


def test_look_schedule_and_levels():
    assert ab_stats.look_schedule(3, 100) == [3, 5, 8, 12, 18, 27, 41, 62, 93, 100]
    assert ab_stats.look_schedule(2, 2) == [2]
    levels = ab_stats.look_levels(0.01, [3, 5, 8])
    np.testing.assert_allclose(levels, 0.01 * np.array([1, 1 / 2, 1 / 3]) / (11 / 6))  # 1/k, summing to alpha
    assert levels.sum() == pytest.approx(0.01)


def test_decide_at_a_look_is_the_t_interval():
    d = np.array([0.1, 0.2, 0.3, 0.25])  # 4 blocks: judged at the look of 3, the 4th waits for the look of 5
    v = ab_stats.decide(d, 0.05, alpha=0.01)
    level = ab_stats.look_levels(0.01, ab_stats.look_schedule(3, 100))[0]
    x = d[:3]
    half = float(stats.t.ppf(1 - level, 2) * x.std(ddof=1) / math.sqrt(3))  # closed form of the look's interval
    assert (v.n, v.look, v.level) == (3, 1, pytest.approx(level))
    assert (v.ratio, v.ci_low, v.ci_high) == pytest.approx((math.exp(0.2), math.exp(0.2 - half), math.exp(0.2 + half)))
    assert v.pvalue == pytest.approx(stats.ttest_1samp(x, 0, alternative="greater").pvalue)
    assert ab_stats.decide(d[:2], 0.05).verdict == INCONCLUSIVE  # before the first look


ALPHA = 0.005  # the level of one clock under --clock both (alpha 0.01 split between the two clocks)


def series(mu: float, sigma: float, seed: int, heavy: bool = False, n: int = 100, runs: int = 20000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = rng.standard_t(3, (runs, n)) / math.sqrt(3) if heavy else rng.standard_normal((runs, n))
    return mu + sigma * noise


@pytest.mark.parametrize("sigma, heavy", [(0.03, False), (0.10, False), (0.03, True)])
def test_null_false_regressed_rate_over_all_looks_is_at_most_alpha(sigma, heavy):
    code, _ = ab_stats.sequential(series(0.0, sigma, seed=1, heavy=heavy), 0.05, ALPHA)
    assert np.mean(code == 1) <= ALPHA  # regressed although nothing changed, at any of the 10 looks
    assert np.mean(code == 2) <= ALPHA  # improved, likewise


def test_false_no_change_at_the_threshold_is_at_most_alpha():
    code, _ = ab_stats.sequential(series(math.log(1.05), 0.03, seed=2), 0.05, ALPHA)
    assert np.mean(code == 3) <= ALPHA


def test_a_2x_change_is_decided_within_3_blocks():
    # block spread 3%: the CPU-time spread measured in quiet A/A runs was 2.3-4.4 %
    code, when = ab_stats.sequential(series(math.log(2), 0.03, seed=3), 0.05, ALPHA)
    assert np.mean((code == 1) & (when == 3)) >= 0.99
    code, when = ab_stats.sequential(series(math.log(2), 0.06, seed=4), 0.05, ALPHA)  # twice as noisy
    assert np.mean((code == 1) & (when <= 5)) >= 0.99


def test_a_small_change_is_sampled_longer_than_a_large_one():
    _, big = ab_stats.sequential(series(math.log(2), 0.03, seed=5, runs=2000), 0.05, ALPHA)
    code, small = ab_stats.sequential(series(math.log(1.10), 0.03, seed=5, runs=2000), 0.05, ALPHA)
    assert np.mean(code == 1) >= 0.99 and np.median(small) > np.median(big) == 3


def test_blocks_to_decide_projects_the_look():
    rng = np.random.default_rng(6)
    assert ab_stats.blocks_to_decide(np.log(2) + rng.normal(0, 0.03, 3), 0.05, 0.01, 3, 100) == 3  # decided now
    # sd 0.3: half-width t_4(1 - 0.00085) 0.3 / sqrt 5 = 1.06 > log 2 at 5 blocks, t_7(1 - 0.00057) 0.3 / sqrt 8 = 0.59 at 8
    assert ab_stats.blocks_to_decide(np.log(2) + np.array([0.3, -0.3, 0.0]), 0.05, 0.01, 3, 100) == 8
    assert ab_stats.blocks_to_decide(rng.normal(0, 0.03, 5), 0.05, 0.01, 3, 100) in (8, 12, 18)
    assert ab_stats.blocks_to_decide(np.log(1.05) + rng.normal(0, 0.05, 5), 0.05, 0.01, 3, 100) is None
    assert ab_stats.blocks_to_decide([], 0.05, 0.01, 3, 100) is None


@pytest.mark.parametrize("shift, expected", [(0.10, REGRESSED), (0.0, NO_CHANGE), (-0.10, IMPROVED)])
def test_decide_finds_known_shift(shift, expected):
    base, head = paired(shift, 40, 0.02)
    v = ab_stats.decide(ab_stats.log_ratios(base, head), threshold=0.05)
    assert v.verdict == expected, v.reason


def test_small_shift_below_threshold_is_no_change():
    base, head = paired(0.02, 80, 0.02)
    assert ab_stats.decide(ab_stats.log_ratios(base, head), 0.05).verdict == NO_CHANGE


def test_mde_closed_form_terms():
    z = 1.6448536269514722
    # with no threshold the test term dominates: (t_{n-1}(1 - level) + z_power) sigma / sqrt(n)
    expected = (stats.t.ppf(0.999, 24) + z) * 0.02 / 5
    assert ab_stats.mde(0.02, 25, 0.0, 0.001) == pytest.approx(math.expm1(expected))
    # with a large threshold the estimate must clear it: log1p(t) + z sigma / sqrt(n)
    assert ab_stats.mde(0.02, 25, 0.2, 0.001) == pytest.approx(math.expm1(math.log1p(0.2) + z * 0.02 / 5))
    assert math.isnan(ab_stats.mde(float("nan"), 10, 0.05, 0.01))


def test_mde_has_about_95_percent_power_at_one_look():
    sigma, n, threshold, level = 0.03, 12, 0.05, 0.001
    effect = ab_stats.mde(sigma, n, threshold, level)
    x = np.random.default_rng(7).normal(math.log1p(effect), sigma, (4000, n))
    power = np.mean(ab_stats.look_codes(x, threshold, level)[0] == 1)
    assert 0.92 <= power <= 0.975
    x = np.random.default_rng(8).normal(math.log1p(threshold), sigma, (4000, n))
    assert np.mean(ab_stats.look_codes(x, threshold, level)[0] == 1) < 0.5  # at the threshold itself: far from 95%


def test_overall_is_the_worst_entry():
    assert ab_stats.overall([NO_CHANGE, IMPROVED]) == NO_CHANGE
    assert ab_stats.overall([NO_CHANGE, INCONCLUSIVE]) == INCONCLUSIVE
    assert ab_stats.overall([INCONCLUSIVE, REGRESSED, IMPROVED]) == REGRESSED
    assert [AB_EXIT_CODES[v] for v in (REGRESSED, INCONCLUSIVE, NO_CHANGE, IMPROVED)] == [1, 3, 0, 0]
