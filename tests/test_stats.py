"""Tests of the statistics: verdict error rates, more-samples loop, TOST, bootstrap, A/A calibration."""
from __future__ import annotations

import math
from collections import Counter

import numpy as np

from harness import stats


def trials(shift: float, n: int = 15, noise: float = 0.05, count: int = 1000) -> Counter:
    """Return verdict counts over seeded trials of base ~ lognormal(0, noise) vs new scaled by ``shift``."""
    out = Counter()
    for i in range(count):
        rng = np.random.default_rng(i)
        a, b = rng.lognormal(0, noise, n), rng.lognormal(math.log(shift), noise, n)
        out[stats.verdict(a, b).verdict] += 1
    return out


def test_aa_is_no_change_in_99_percent():
    assert trials(1.0)[stats.NO_CHANGE] >= 990


def test_ten_percent_shift_is_regressed_in_95_percent():
    assert trials(1.10)[stats.REGRESSED] >= 950


def test_speedup_is_improved():
    rng = np.random.default_rng(0)
    assert stats.verdict(rng.lognormal(0, 0.05, 15), rng.lognormal(math.log(0.8), 0.05, 15)).verdict == stats.IMPROVED


def test_too_few_samples_are_inconclusive_and_pooled_samples_decide():
    rng = np.random.default_rng(1)
    a, b = rng.lognormal(0, 0.05, 3), rng.lognormal(math.log(1.3), 0.05, 3)
    assert stats.verdict(a, b).verdict == stats.INCONCLUSIVE
    more_a, more_b = rng.lognormal(0, 0.05, 12), rng.lognormal(math.log(1.3), 0.05, 12)
    v = stats.verdict(np.concatenate([a, more_a]), np.concatenate([b, more_b]))
    assert v.verdict == stats.REGRESSED and v.n_base == 15


def test_noisy_samples_are_inconclusive():
    rng = np.random.default_rng(2)
    v = stats.verdict(rng.lognormal(0, 1.0, 12), rng.lognormal(0, 1.0, 12))
    assert v.verdict == stats.INCONCLUSIVE and "noisy" in v.reason


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
