"""Change points and creep in a per-commit series of log-ratios: PELT (ruptures) candidates, permutation p-values,
step sizes with bootstrap CIs, a minimum segment length, and the cumulative change against the best segment."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import ruptures as rpt
from scipy import stats as st

MAD_TO_SIGMA = 1.4826  # sigma of normal data / its median absolute deviation


@dataclass(frozen=True)
class DetectSettings:
    """How change points and creep are called (defaults chosen by the self-test on real A/A noise)."""

    min_size: int = 3  # commits on each side of a change point: a single slow commit is not a change
    penalty: float = 3.0  # PELT penalty, in units of sigma^2 log(n) (sigma from first differences)
    alpha: float = 0.01  # two-sided permutation p of a change point (and of creep)
    min_step: float = 0.02  # smallest step that counts as a regression
    creep: float = 0.05  # cumulative slowdown since the best segment that counts as creep
    resamples: int = 9999  # permutations (exact when the two segments allow fewer) and bootstrap resamples
    seed: int = 0


@dataclass(frozen=True)
class ChangePoint:
    """A change between commit ``index - 1`` and ``index``: the step (mean ratio after / before), CI, p."""

    index: int
    step: float
    ci_low: float
    ci_high: float
    pvalue: float
    n_before: int
    n_after: int

    def regression(self, s: DetectSettings) -> bool:
        """Return True when this change is a significant slowdown of at least ``s.min_step``."""
        return self.pvalue < s.alpha and self.step > 1 + s.min_step


@dataclass(frozen=True)
class Creep:
    """The cumulative change: the mean of the last ``min_size`` commits against the best (fastest) segment."""

    best_start: int
    best_end: int
    change: float  # ratio last / best
    pvalue: float

    def alarm(self, s: DetectSettings) -> bool:
        """Return True when the cumulative slowdown exceeds ``s.creep`` and is significant."""
        return self.pvalue < s.alpha and self.change > 1 + s.creep


@dataclass
class Detection:
    """What ``detect`` found in one series since the last accepted point."""

    change_points: list = field(default_factory=list)  # every significant ChangePoint, regressions or not
    creep: Creep | None = None
    since: int = 0  # the first index considered (the commit after the last accepted one)
    segments: list = field(default_factory=list)  # (start, end) of PELT's segments

    def alarms(self, s: DetectSettings) -> list:
        """Return the regression change points at or after ``since``, and the creep when it alarms."""
        out = [c for c in self.change_points if c.index >= self.since and c.regression(s)]
        return out + ([self.creep] if self.creep and self.creep.alarm(s) else [])


def robust_sigma(x: np.ndarray) -> float:
    """Return the noise sigma of a piecewise-constant series: MAD of first differences / sqrt(2) (steps ignored)."""
    d = np.diff(x)
    return float(MAD_TO_SIGMA * np.median(np.abs(d - np.median(d))) / math.sqrt(2)) if d.size else math.nan


def _mean_diff(after, before, axis=-1):
    return np.mean(after, axis=axis) - np.mean(before, axis=axis)


def _test(before: np.ndarray, after: np.ndarray, s: DetectSettings) -> tuple[float, float, float, float]:
    """Return (step, ci_low, ci_high, p): the mean ratio after/before, its bootstrap CI, two-sided permutation p."""
    rng = np.random.default_rng(s.seed)
    p = st.permutation_test((after, before), _mean_diff, vectorized=True, n_resamples=s.resamples,
                            alternative="two-sided", random_state=rng).pvalue
    d = _mean_diff(after, before)
    if np.ptp(after) == 0 and np.ptp(before) == 0:
        lo = hi = d
    else:
        ci = st.bootstrap((after, before), _mean_diff, vectorized=True, n_resamples=min(s.resamples, 2000),
                          method="percentile", random_state=rng).confidence_interval
        lo, hi = ci.low, ci.high
    return math.exp(d), math.exp(lo), math.exp(hi), float(p)


def segments(x: np.ndarray, s: DetectSettings) -> list[tuple[int, int]]:
    """Return PELT's segments of ``x`` as (start, end) index pairs (cost l2, penalty ``s.penalty`` sigma^2 log n)."""
    n = x.size
    if n < 2 * s.min_size:
        return [(0, n)] if n else []
    sigma = robust_sigma(x)
    sigma = sigma if sigma > 0 else max(float(np.std(x)), 1e-9)
    ends = rpt.Pelt(model="l2", min_size=s.min_size, jump=1).fit(x.reshape(-1, 1)).predict(
        pen=s.penalty * sigma ** 2 * math.log(n))
    starts = [0, *ends[:-1]]
    return list(zip(starts, ends))


def detect(x, s: DetectSettings = DetectSettings(), since: int = 0) -> Detection:
    """Return the change points of log-ratio series ``x`` (significant ones only) and the creep since ``since``.

    Each boundary PELT finds is tested on its two adjacent segments (permutation test of the mean difference);
    the creep compares the last ``min_size`` values with the segment of the lowest mean that starts at or after
    ``since`` (a segment overlapping ``since`` counts from there).
    """
    x = np.asarray(x, dtype=np.float64)
    segs = segments(x, s)
    found = []
    for (a, b), (_, c) in zip(segs, segs[1:]):
        step, lo, hi, p = _test(x[a:b], x[b:c], s)
        if p < s.alpha:
            found.append(ChangePoint(b, step, lo, hi, p, b - a, c - b))
    return Detection(found, creep(x, segs, since, s), since, segs)


def creep(x: np.ndarray, segs: list[tuple[int, int]], since: int, s: DetectSettings) -> Creep | None:
    """Return the last ``min_size`` values against the fastest segment since ``since`` (None if too short)."""
    last = x[-s.min_size:]
    cands = [(max(a, since), b) for a, b in segs if b > since and b - max(a, since) >= s.min_size
             and b <= x.size - s.min_size]
    if not cands or x.size - since < 2 * s.min_size:
        return None
    a, b = min(cands, key=lambda ab: x[ab[0]:ab[1]].mean())
    step, _, _, p = _test(x[a:b], last, s)
    return Creep(a, b, step, p)
