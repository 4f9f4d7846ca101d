"""Tests of the statistics: verdict error rates, more-samples loop, TOST, bootstrap, A/A calibration."""
from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from harness.judge import stats
from harness.judge.verdicts import Verdict


def trials(shift: float, n: int = 15, noise: float = 0.05, count: int = 1000) -> Counter:
    """Return verdict counts over seeded trials of base ~ lognormal(0, noise) vs new scaled by ``shift``."""
    out = Counter()
    for i in range(count):
        rng = np.random.default_rng(i)
        a, b = rng.lognormal(0, noise, n), rng.lognormal(math.log(shift), noise, n)
        out[stats.verdict(a, b).verdict] += 1
    return out


def test_aa_is_no_change_in_99_percent():
    assert trials(1.0)[Verdict.NO_CHANGE] >= 990


def test_ten_percent_shift_is_regressed_in_95_percent():
    assert trials(1.10)[Verdict.REGRESSED] >= 950


def test_speedup_is_improved():
    rng = np.random.default_rng(0)
    assert stats.verdict(rng.lognormal(0, 0.05, 15), rng.lognormal(math.log(0.8), 0.05, 15)).verdict == Verdict.IMPROVED


def test_too_few_samples_are_inconclusive_and_pooled_samples_decide():
    rng = np.random.default_rng(1)
    a, b = rng.lognormal(0, 0.05, 3), rng.lognormal(math.log(1.3), 0.05, 3)
    assert stats.verdict(a, b).verdict == Verdict.INCONCLUSIVE
    more_a, more_b = rng.lognormal(0, 0.05, 12), rng.lognormal(math.log(1.3), 0.05, 12)
    v = stats.verdict(np.concatenate([a, more_a]), np.concatenate([b, more_b]))
    assert v.verdict == Verdict.REGRESSED and v.n_base == 15


def test_noisy_samples_are_inconclusive():
    rng = np.random.default_rng(2)
    v = stats.verdict(rng.lognormal(0, 1.0, 12), rng.lognormal(0, 1.0, 12))
    assert v.verdict == Verdict.INCONCLUSIVE and "noisy" in v.reason


def test_mann_whitney_sidedness():
    a, b = [1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12]
    assert stats.mann_whitney(a, b, "greater") < 0.01 < stats.mann_whitney(a, b, "less")
    assert math.isclose(stats.mann_whitney(a, b), 2 * stats.mann_whitney(a, b, "greater"))


def test_bootstrap_ratio_ci_is_seeded_and_covers():
    rng = np.random.default_rng(3)
    a, b = rng.lognormal(0, 0.05, 30), rng.lognormal(math.log(1.2), 0.05, 30)
    r = stats.bootstrap_ratio_ci(a, b, seed=7)
    assert r == stats.bootstrap_ratio_ci(a, b, seed=7)
    assert r[1] < 1.2 < r[2] and r[1] < r[0] < r[2]
    assert all(math.isnan(x) for x in stats.bootstrap_ratio_ci([], b))


def test_tost_scalar_reproduces_claim():
    x = np.random.default_rng(4).lognormal(math.log(1.1), 0.03, 20)
    assert stats.tost_scalar(x, 1.1, 0.10).equivalent
    t = stats.tost_scalar(x * 0.5, 1.1, 0.10)
    assert not t.equivalent and abs(t.estimate - 0.5) < 0.05


def test_tost_two_sample():
    rng = np.random.default_rng(5)
    a = rng.lognormal(0, 0.03, 20)
    assert stats.tost_two_sample(a, rng.lognormal(0.01, 0.03, 20), 0.05).equivalent
    assert not stats.tost_two_sample(a, rng.lognormal(math.log(1.2), 0.03, 20), 0.05).equivalent


def test_aa_noise_and_calibrated_threshold():
    rng = np.random.default_rng(6)
    quiet = [(rng.lognormal(0, 0.01, 15), rng.lognormal(0, 0.01, 15))]
    loud = [(rng.lognormal(0, 0.2, 15), rng.lognormal(0, 0.2, 15))]
    assert stats.aa_noise(quiet) < 0.03 < stats.aa_noise(loud)
    assert stats.calibrated_threshold(0.05, stats.aa_noise(quiet)) == 0.05
    assert stats.calibrated_threshold(0.05, stats.aa_noise(loud)) > 0.1
    assert stats.calibrated_threshold(0.05, math.nan) == 0.05


def _numpy_boot_medians(a, n_boot, rng):
    """The hand-written bootstrap ``stats`` used before scipy.stats.bootstrap: medians of index resamples."""
    return np.median(a[rng.integers(0, a.size, size=(n_boot, a.size))], axis=1)


def test_scipy_bootstrap_equals_the_hand_written_one_within_seeded_tolerance():
    rng = np.random.default_rng(7)
    a, b, one = rng.lognormal(0, 0.1, 25), rng.lognormal(0.05, 0.1, 18), np.array([1.3])
    meds = _numpy_boot_medians(a, 2000, np.random.default_rng(0))
    expected = (np.median(a), *np.percentile(meds, [2.5, 97.5]))
    np.testing.assert_allclose(stats.bootstrap_median_ci(a), expected, rtol=1e-12)
    r = np.random.default_rng(0)
    ratios = _numpy_boot_medians(b, 2000, r) / _numpy_boot_medians(a, 2000, r)
    expected = (np.median(b) / np.median(a), *np.percentile(ratios, [2.5, 97.5]))
    np.testing.assert_allclose(stats.bootstrap_ratio_ci(a, b), expected, rtol=1e-12)
    r = np.random.default_rng(0)  # a one-value side cannot move: only the other side is resampled
    ratios = one[0] / _numpy_boot_medians(a, 2000, r)
    np.testing.assert_allclose(stats.bootstrap_ratio_ci(a, one)[1:], np.percentile(ratios, [2.5, 97.5]), rtol=1e-12)
    r = np.random.default_rng(3)
    logs = [np.abs(np.log(_numpy_boot_medians(y, 2000, r) / _numpy_boot_medians(x, 2000, r))) for x, y in [(a, b), (b, a)]]
    assert stats.aa_noise([(a, b), (b, a)], 0.99, seed=3) == pytest.approx(np.quantile(np.concatenate(logs), 0.99),
                                                                          rel=1e-12)
    assert stats.bootstrap_median_ci([2.0]) == (2.0, 2.0, 2.0)
