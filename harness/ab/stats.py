"""Statistics of paired A/B samples: block log-ratios and the group-sequential t design that decides on them.

The design (README, "Same-machine A/B gate"): the observations are block mean log-ratios d_1..d_n (head/base), taken
as independent and roughly normal. Verdicts are only given at planned looks, n = ``min_n`` and then about 1.5 times
the previous look up to ``max_n`` (3, 5, 8, 12, 18, 27, 41, 62, 93, 100 by default). The level ``alpha`` is split
between the looks in proportion 1/k (the k-th look gets ``alpha / (k H_K)``), so the first looks, where a gross change
is decided, get the largest shares. At look k the two-sided interval mean +- t_{n-1}(1 - alpha_k) s / sqrt(n) is
the repeated confidence interval of the mean log-ratio; **regressed** when its lower end is above 0 and the estimate
beyond ``log(1 + threshold)``, **improved** mirrored, **no change** when it lies within +-log(1 + threshold),
otherwise **inconclusive** (sample to the next look). By the union bound over the looks, the chance of a false
"regressed" when nothing changed, and of a false "no change" when the change is the threshold, is at most ``alpha``
each, however the looks depend on each other (Bonferroni; simulated in ``tests/test_ab_stats.py``).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Iterable, Sequence

import numpy as np
from scipy import stats as _st

from harness.judge.stats import finite
from harness.judge.verdicts import SEVERITY, Verdict, worst

POWER = 0.95
LOOK_GROWTH = 1.5  # each planned look after about 1.5 times the blocks of the previous one


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


def look_schedule(first: int, last: int) -> list[int]:
    """Return the planned looks (block counts): ``first``, then about ``LOOK_GROWTH`` times the previous, ``last``."""
    looks = [first]
    while looks[-1] < last:
        looks.append(min(last, max(looks[-1] + 1, math.ceil(looks[-1] * LOOK_GROWTH))))
    return looks


def look_levels(alpha: float, looks: Sequence[int]) -> np.ndarray:
    """Return the level of each look: ``alpha`` split in proportion 1/k (they sum to ``alpha``)."""
    w = 1 / np.arange(1, len(looks) + 1)
    return alpha * w / w.sum()


def mde(sigma: float, n: int, threshold: float, level: float, power: float = POWER) -> float:
    """Return the smallest relative slowdown called 'regressed' at a look of ``n`` blocks with probability ``power``.

    Both conditions must hold: the mean log-ratio beyond log(1 + threshold) (se sigma / sqrt(n)) and the lower end
    of the look's interval above 0 (the t test at ``level``; noncentral t approximated by a shifted one). Normal
    block log-ratios with spread ``sigma`` assumed.
    """
    if not (n > 1 and math.isfinite(sigma)):
        return math.nan
    se, z_power = sigma / math.sqrt(n), _st.norm.ppf(power)
    by_threshold = math.log1p(threshold) + z_power * se
    by_test = (_st.t.ppf(1 - level, n - 1) + z_power) * se
    return math.expm1(max(by_threshold, by_test))


@dataclass(frozen=True)
class PairedVerdict:
    """The verdict on one entry's paired samples (ratio = head / base; higher = slower)."""

    verdict: Verdict
    ratio: float  # exp(mean block log-ratio)
    ci_low: float  # the look's repeated confidence interval of the ratio
    ci_high: float
    pvalue: float  # one-sided t test of the look (not adjusted; compare with ``level``)
    n: int  # blocks at the look (the verdict's data)
    sigma: float  # sd of the block log-ratios
    mde: float
    threshold: float
    reason: str
    level: float = math.nan  # the look's share of alpha
    look: int = 0  # 1-based index of the look, 0 before the first

    def as_dict(self) -> dict:
        """Return the fields as a plain dict (for records)."""
        return asdict(self)


CODES = (Verdict.INCONCLUSIVE, Verdict.REGRESSED, Verdict.IMPROVED, Verdict.NO_CHANGE)  # index = verdict code


def look_codes(x: np.ndarray, threshold: float, level: float) -> tuple[np.ndarray, ...]:
    """Return (code, mean, half-width, sd) of each row of blocks ``x`` (rows: series, columns: blocks) at one look of
    ``level``: code indexes ``CODES`` (0 inconclusive, 1 regressed, 2 improved, 3 no change)."""
    n = x.shape[-1]
    m, s = x.mean(axis=-1), x.std(axis=-1, ddof=1)
    half = _st.t.ppf(1 - level, n - 1) * s / math.sqrt(n)
    bound = math.log1p(threshold)
    code = np.zeros(m.shape, dtype=int)
    code[(m - half > 0) & (m > bound)] = 1
    code[(m + half < 0) & (m < -bound)] = 2
    code[(-bound < m - half) & (m + half < bound)] = 3
    return code, m, half, s


def sequential(x: np.ndarray, threshold: float, alpha: float, min_n: int = 3,
               max_n: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Return (code, blocks) of each row of ``x`` (series of at least ``max_n`` blocks) run through every planned
    look: the first look's verdict that is not inconclusive and its block count (0 if none)."""
    looks = look_schedule(min_n, max_n)
    code, when = np.zeros(x.shape[0], dtype=int), np.zeros(x.shape[0], dtype=int)
    for n, level in zip(looks, look_levels(alpha, looks)):
        c = look_codes(x[:, :n], threshold, level)[0]
        new = (code == 0) & (c != 0)
        code[new], when[new] = c[new], n
    return code, when


def decide(d: Sequence[float], threshold: float, alpha: float = 0.01, min_n: int = 3,
           max_n: int = 100) -> PairedVerdict:
    """Return the three-valued verdict of block log-ratios ``d`` at the last planned look they reach.

    Blocks beyond that look wait for the next one (a verdict between looks would void the error rates). Fewer
    than ``min_n`` blocks: inconclusive, with the estimate of all blocks. See the module docstring for the design.
    """
    d = finite(d)
    looks = look_schedule(min_n, max_n)
    reached = [i for i, n in enumerate(looks) if n <= d.size]
    if not reached:
        m = float(d.mean()) if d.size else math.nan
        s = float(d.std(ddof=1)) if d.size > 1 else math.nan
        return PairedVerdict(Verdict.INCONCLUSIVE, math.exp(m), math.nan, math.nan, math.nan, int(d.size), s,
                             math.nan, threshold, f"{d.size} blocks < first look at {min_n}")
    k = reached[-1]
    level = float(look_levels(alpha, looks)[k])
    x = d[:looks[k]]
    code, m, half, s = (float(v[0]) for v in look_codes(x[None, :], threshold, level))
    se = s / math.sqrt(x.size)
    p = (1.0 if m == 0 else 0.0) if se == 0 else float(_st.t.sf(abs(m) / se, x.size - 1))
    out = dict(ratio=math.exp(m), ci_low=math.exp(m - half), ci_high=math.exp(m + half), pvalue=p, n=int(x.size),
               sigma=s, mde=mde(s, x.size, threshold, level), threshold=threshold, level=level, look=k + 1)
    where = f"look {k + 1}/{len(looks)} at {x.size} blocks, level {level:.2g}"
    verdict = CODES[int(code)]
    if verdict in (Verdict.REGRESSED, Verdict.IMPROVED):
        reason = f"{math.expm1(m):+.1%} beyond {threshold:.1%}, p={p:.2g} ({where})"
    else:
        within = "within" if verdict == Verdict.NO_CHANGE else "crosses a bound of"
        reason = f"interval {out['ci_low']:.3f}..{out['ci_high']:.3f} {within} +-{threshold:.1%} ({where})"
    return PairedVerdict(verdict, reason=reason, **out)


def blocks_to_decide(d: Sequence[float], threshold: float, alpha: float, min_n: int, max_n: int) -> int | None:
    """Return the first planned look at which blocks like ``d`` (its mean and sd so far) would be decided, or None
    when no look up to ``max_n`` would (an estimate on the threshold, or too few blocks to know)."""
    d = finite(d)
    if d.size < 2:
        return min_n if d.size else None
    m, s, bound = float(d.mean()), float(d.std(ddof=1)), math.log1p(threshold)
    looks = look_schedule(min_n, max_n)
    for n, level in zip(looks, look_levels(alpha, looks)):
        if n < d.size:
            continue
        half = _st.t.ppf(1 - level, n - 1) * s / math.sqrt(n)
        if (abs(m) > bound and abs(m) > half) or abs(m) + half < bound:
            return n
    return None


def overall(verdicts: Iterable[Verdict]) -> Verdict:
    """Return the worst of the entries' verdicts (regressed > inconclusive > no change > improved)."""
    return worst(verdicts, SEVERITY)
