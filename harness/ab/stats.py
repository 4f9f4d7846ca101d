"""Statistics of paired A/B samples: log-ratios, median ratio with bootstrap CI, signed-rank test, verdict, MDE."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Iterable, Sequence

import numpy as np
from scipy import stats as _st

from harness.judge.stats import finite
from harness.judge.verdicts import SEVERITY, Verdict, worst

POWER = 0.95
SE_MEDIAN = math.sqrt(math.pi / 2)  # se(median) / se(mean) for normal data, n large
WILCOXON_ARE = 3 / math.pi  # asymptotic relative efficiency of the signed-rank test vs the t-test (normal data)


def log_ratios(base: Sequence[float], head: Sequence[float]) -> np.ndarray:
    """Return log(head_i / base_i) for the pairs where both samples are finite and positive."""
    a, b = np.asarray(base, dtype=np.float64), np.asarray(head, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired samples need equal lengths; got {a.size} base and {b.size} head")
    ok = np.isfinite(a) & np.isfinite(b) & (a > 0) & (b > 0)
    return np.log(b[ok] / a[ok])


def block_log_ratios(base: Sequence[float], head: Sequence[float], block: Sequence[int]) -> np.ndarray:
    """Return the mean log-ratio of each block of pairs (blocks in ascending id; bad pairs ignored).

    Pairs measured in one burst, or on one core arrangement, share the machine's state and are not
    independent; a block (both core arrangements of one entry, e.g. two consecutive rounds) is the unit the
    tests may treat as independent.
    """
    a, b = np.asarray(base, dtype=np.float64), np.asarray(head, dtype=np.float64)
    block = np.asarray(block)
    if not (a.shape == b.shape == block.shape):
        raise ValueError(f"paired samples need equal lengths; got {a.size} base, {b.size} head, {block.size} blocks")
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.log(b / a)
    ok = np.isfinite(d)
    return np.array([d[ok & (block == k)].mean() for k in np.unique(block[ok])])


def robust_sigma(x: Sequence[float]) -> float:
    """Return the IQR / 1.349 of ``x``: the standard deviation of normal data, robust to a tail of slow steps."""
    x = finite(x)
    return float(_st.iqr(x) / (2 * _st.norm.ppf(0.75))) if x.size >= 2 else math.nan


def median_ratio_ci(d: Sequence[float], conf: float = 0.95, n_resamples: int = 2000,
                    seed: int = 0) -> tuple[float, float, float]:
    """Return (ratio, low, high): exp(median log-ratio) and its percentile-bootstrap CI (scipy.stats.bootstrap)."""
    d = finite(d)
    if d.size < 2:
        return (math.nan, math.nan, math.nan)
    if np.ptp(d) == 0:
        r = math.exp(d[0])
        return (r, r, r)
    res = _st.bootstrap((d,), np.median, confidence_level=conf, n_resamples=n_resamples, method="percentile",
                        random_state=np.random.default_rng(seed))
    ci = res.confidence_interval
    return (math.exp(np.median(d)), math.exp(ci.low), math.exp(ci.high))


def signed_rank_p(d: Sequence[float], alternative: str) -> float:
    """Return the Wilcoxon signed-rank p-value of the log-ratios ('greater': head slower)."""
    d = finite(d)
    if d.size == 0 or not np.any(d):
        return 1.0
    return float(_st.wilcoxon(d, alternative=alternative).pvalue)


def mde(sigma: float, n: int, threshold: float, alpha: float, power: float = POWER) -> float:
    """Return the smallest relative slowdown the gate calls 'regressed' with probability ``power`` (closed form).

    Both conditions of a regression must hold: the median ratio beyond ``1 + threshold`` (se of a median of n
    log-ratios with spread ``sigma``: sqrt(pi/2) sigma / sqrt(n)) and the one-sided signed-rank test at ``alpha``
    (normal approximation with the test's efficiency 3/pi). Normal log-ratios assumed.
    """
    if not (n > 0 and math.isfinite(sigma)):
        return math.nan
    z_power = _st.norm.ppf(power)
    by_threshold = math.log1p(threshold) + z_power * SE_MEDIAN * sigma / math.sqrt(n)
    by_test = (_st.norm.ppf(1 - alpha) + z_power) * sigma / math.sqrt(WILCOXON_ARE * n)
    return math.expm1(max(by_threshold, by_test))


@dataclass(frozen=True)
class PairedVerdict:
    """The verdict on one entry's paired samples (ratio = head / base; higher = slower)."""

    verdict: Verdict
    ratio: float
    ci_low: float
    ci_high: float
    pvalue: float
    n: int
    sigma: float
    mde: float
    threshold: float
    reason: str

    def as_dict(self) -> dict:
        """Return the fields as a plain dict (for records)."""
        return asdict(self)


def decide(d: Sequence[float], threshold: float, alpha: float = 0.01, min_n: int = 10, conf: float = 0.95,
           seed: int = 0) -> PairedVerdict:
    """Return the three-valued verdict on paired log-ratios ``d`` against a max relative slowdown ``threshold``.

    Regressed (improved): the median ratio beyond 1 + threshold (below its inverse), its CI above (below) 1
    AND the one-sided signed-rank p below ``alpha`` (the CI guards against many sequential looks at a noisy p). No change: the whole CI of the median ratio within the two bounds.
    Anything else, or fewer than ``min_n`` values, is inconclusive (more may decide it). The values of ``d``
    must be independent: pass block means (``block_log_ratios``), not steps of one burst.
    """
    d = finite(d)
    ratio, lo, hi = median_ratio_ci(d, conf, seed=seed)
    slower = not ratio < 1
    p = signed_rank_p(d, "greater" if slower else "less") if d.size else math.nan
    sigma = robust_sigma(d)
    out = dict(ratio=ratio, ci_low=lo, ci_high=hi, pvalue=p, n=int(d.size), sigma=sigma,
               mde=mde(sigma, d.size, threshold, alpha), threshold=threshold)
    upper, lower = 1 + threshold, 1 / (1 + threshold)
    if d.size < min_n:
        return PairedVerdict(Verdict.INCONCLUSIVE, reason=f"{d.size} paired values < {min_n}", **out)
    if ((ratio > upper and lo > 1) or (ratio < lower and hi < 1)) and p < alpha:
        return PairedVerdict(Verdict.REGRESSED if slower else Verdict.IMPROVED,
                             reason=f"{ratio - 1:+.1%} beyond {threshold:.1%}, p={p:.2g} < {alpha:g}", **out)
    if lower < lo and hi < upper:
        return PairedVerdict(Verdict.NO_CHANGE, reason=f"CI {lo:.3f}..{hi:.3f} within +-{threshold:.1%}", **out)
    return PairedVerdict(Verdict.INCONCLUSIVE, reason=f"CI {lo:.3f}..{hi:.3f} crosses a bound, p={p:.2g}", **out)


def overall(verdicts: Iterable[Verdict]) -> Verdict:
    """Return the worst of the entries' verdicts (regressed > inconclusive > no change > improved)."""
    return worst(verdicts, SEVERITY)
