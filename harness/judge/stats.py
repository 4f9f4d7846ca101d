"""Statistics for comparing timing samples: bootstrap CIs, Mann-Whitney U, TOST, verdicts, A/A noise."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import stats as _st

from harness.judge.verdicts import Verdict


def finite(samples: Sequence[float]) -> np.ndarray:
    """Return the finite values of ``samples`` as a float64 array."""
    a = np.asarray([s for s in samples if s is not None], dtype=np.float64)
    return a[np.isfinite(a)]


N_BOOT = 2000  # bootstrap resamples


def _bootstrap(data: tuple[np.ndarray, ...], statistic, conf: float, rng: np.random.Generator):
    """Return ``scipy.stats.bootstrap``'s percentile result of a vectorised ``statistic`` (samples resampled apart)."""
    return _st.bootstrap(data, statistic, n_resamples=N_BOOT, confidence_level=conf, method="percentile",
                         vectorized=True, rng=rng)


def _median_ratio(new: np.ndarray, base: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.median(new, axis=axis) / np.median(base, axis=axis)


def _ratio_bootstrap(a: np.ndarray, b: np.ndarray, conf: float, rng: np.random.Generator):
    """Return the bootstrap of median(b) / median(a); a one-value side stays fixed (None when both are one value)."""
    if a.size > 1 and b.size > 1:
        return _bootstrap((b, a), _median_ratio, conf, rng)
    if b.size > 1:
        return _bootstrap((b,), lambda x, axis=-1: np.median(x, axis=axis) / a[0], conf, rng)
    if a.size > 1:
        return _bootstrap((a,), lambda x, axis=-1: b[0] / np.median(x, axis=axis), conf, rng)
    return None


def bootstrap_median_ci(samples: Sequence[float], conf: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """Return (median, low, high): the median and its percentile-bootstrap CI (``scipy.stats.bootstrap``, seeded)."""
    a = finite(samples)
    if a.size < 2:  # one value is its own interval (scipy needs two)
        return (float(a[0]),) * 3 if a.size else (math.nan, math.nan, math.nan)
    ci = _bootstrap((a,), np.median, conf, np.random.default_rng(seed)).confidence_interval
    return (float(np.median(a)), float(ci.low), float(ci.high))


def bootstrap_ratio_ci(base: Sequence[float], new: Sequence[float], conf: float = 0.95,
                       seed: int = 0) -> tuple[float, float, float]:
    """Return (ratio, low, high): median(new) / median(base) and its percentile-bootstrap CI (seeded)."""
    a, b = finite(base), finite(new)
    if a.size == 0 or b.size == 0:
        return (math.nan, math.nan, math.nan)
    ratio = float(np.median(b) / np.median(a))
    res = _ratio_bootstrap(a, b, conf, np.random.default_rng(seed))
    return (ratio, ratio, ratio) if res is None else (ratio, float(res.confidence_interval.low),
                                                      float(res.confidence_interval.high))


def mann_whitney(base: Sequence[float], new: Sequence[float], alternative: str = "two-sided") -> float:
    """Return the Mann-Whitney U p-value; ``alternative='greater'`` tests new > base ("slower")."""
    a, b = finite(base), finite(new)
    if a.size == 0 or b.size == 0:
        return math.nan
    return float(_st.mannwhitneyu(b, a, alternative=alternative).pvalue)


def min_mwu_pvalue(n_a: int, n_b: int) -> float:
    """Return the smallest one-sided Mann-Whitney p-value attainable with these sample sizes (no ties)."""
    return 1.0 / math.comb(n_a + n_b, n_a) if n_a and n_b else 1.0


@dataclass(frozen=True)
class Tost:
    """The outcome of a two one-sided tests (TOST) equivalence test."""

    pvalue: float
    equivalent: bool
    estimate: float
    delta: float


def tost_scalar(samples: Sequence[float], claim: float, delta: float, alpha: float = 0.05) -> Tost:
    """Return TOST of "the sample reproduces ``claim`` within +-delta (relative)", on the log scale.

    ``estimate`` is the geometric-mean ratio sample / claim; positive quantities only.
    """
    x = finite(samples)
    x = np.log(x[x > 0]) - math.log(claim)
    bound = math.log1p(delta)
    if x.size < 2:
        return Tost(math.nan, False, math.nan, delta)
    p_low = _st.ttest_1samp(x, -bound, alternative="greater").pvalue
    p_high = _st.ttest_1samp(x, bound, alternative="less").pvalue
    p = float(max(p_low, p_high))
    return Tost(p, bool(p < alpha), float(math.exp(x.mean())), delta)


def tost_two_sample(base: Sequence[float], new: Sequence[float], delta: float, alpha: float = 0.05) -> Tost:
    """Return TOST of "new equals base within +-delta (relative)", Welch t-tests on the log-ratio scale."""
    a, b = finite(base), finite(new)
    a, b = np.log(a[a > 0]), np.log(b[b > 0])
    bound = math.log1p(delta)
    if a.size < 2 or b.size < 2:
        return Tost(math.nan, False, math.nan, delta)
    p_low = _st.ttest_ind(b, a - bound, equal_var=False, alternative="greater").pvalue
    p_high = _st.ttest_ind(b, a + bound, equal_var=False, alternative="less").pvalue
    p = float(max(p_low, p_high))
    return Tost(p, bool(p < alpha), float(math.exp(b.mean() - a.mean())), delta)


@dataclass(frozen=True)
class Comparison:
    """A comparison of two samples (higher = worse): ratio of medians with CI, p-value, verdict, reason."""

    verdict: Verdict
    ratio: float
    ci_low: float
    ci_high: float
    pvalue: float
    n_base: int
    n_new: int
    threshold: float
    reason: str


def _decide(a: np.ndarray, b: np.ndarray, threshold: float, alpha: float, min_n: int, conf: float,
            seed: int) -> Comparison:
    ratio, lo, hi = bootstrap_ratio_ci(a, b, conf=conf, seed=seed)
    slower = not (ratio < 1)
    p = mann_whitney(a, b, "greater" if slower else "less")
    out = dict(ratio=ratio, ci_low=lo, ci_high=hi, pvalue=p, n_base=int(a.size), n_new=int(b.size),
               threshold=threshold)
    bound = math.log1p(threshold)
    if min(a.size, b.size) < min_n or min_mwu_pvalue(a.size, b.size) >= alpha:
        return Comparison(Verdict.INCONCLUSIVE, reason=f"too few samples ({a.size} vs {b.size})", **out)
    big = abs(math.log(ratio)) > bound
    if big and p < alpha:
        return Comparison(Verdict.REGRESSED if slower else Verdict.IMPROVED,
                       reason=f"{ratio - 1:+.1%} beyond {threshold:.1%} and p={p:.2g} < {alpha:g}", **out)
    if math.log(hi / lo) / 2 > 2 * bound:
        return Comparison(Verdict.INCONCLUSIVE, reason=f"too noisy: CI {lo:.3f}..{hi:.3f} wider than 2x threshold", **out)
    return Comparison(Verdict.NO_CHANGE, reason="within threshold" if not big else f"not significant (p={p:.2g})", **out)


def verdict(base: Sequence[float], new: Sequence[float], threshold: float = 0.05, alpha: float = 0.005,
            min_n: int = 5, conf: float = 0.95, seed: int = 0) -> Comparison:
    """Return the three-valued verdict on new vs base (lower is better), asv-style.

    Regressed (improved) only if the ratio of medians exceeds ``1 + threshold`` (or its inverse) AND the
    one-sided Mann-Whitney p-value is below ``alpha``. Inconclusive when samples are too few for the test
    to reach ``alpha`` or the CI half-width exceeds twice the threshold (on the log scale): the caller may
    then measure more and ask again with the pooled samples (``pgan-harness gate --more-cmd``).
    """
    return _decide(finite(base), finite(new), threshold, alpha, min_n, conf, seed)


def aa_noise(pairs: Sequence[tuple[Sequence[float], Sequence[float]]], quantile: float = 0.99,
             seed: int = 0) -> float:
    """Return the A/A noise: the ``quantile`` of |log ratio of medians| over bootstrap resamples of the pairs."""
    rng = np.random.default_rng(seed)
    logs = []
    for base, new in pairs:
        a, b = finite(base), finite(new)
        if a.size and b.size:
            res = _ratio_bootstrap(a, b, 0.95, rng)
            ratios = np.full(N_BOOT, np.median(b) / np.median(a)) if res is None else res.bootstrap_distribution
            logs.append(np.abs(np.log(ratios)))
    return float(np.quantile(np.concatenate(logs), quantile)) if logs else math.nan


def calibrated_threshold(requested: float, noise: float | None, k: float = 1.0) -> float:
    """Return the relative threshold max(requested, k x noise) (noise on the log scale; NaN/None ignored)."""
    if noise is None or not math.isfinite(noise):
        return requested
    return max(requested, math.expm1(k * noise))
