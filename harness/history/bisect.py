"""Noisy bisection: the first commit between a good and a bad revision that is slower than the good one, each probe
a duet A/B run against the good commit (three outcomes; an inconclusive probe is re-measured, its new blocks pooled
with the earlier ones)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from harness.ab import stats as ab_stats
from harness.ab.driver import MAX_BLOCKS, Entry, Settings
from harness.history.measure import Commit, Measurer, measure_ab, note_skip
from harness.history.store import HistoryStore
from harness.judge.verdicts import SEVERITY, Verdict


@dataclass(frozen=True)
class Evidence:
    """One probe: the commit, its position, the try, and the verdict with ratio, CI and p (clock judged)."""

    index: int
    commit: Commit
    attempt: int
    verdict: str
    ratio: float = float("nan")
    ci_low: float = float("nan")
    ci_high: float = float("nan")
    pvalue: float = float("nan")
    blocks: int = 0
    clock: str = ""
    reason: str = ""


@dataclass
class Bisection:
    """The result: the culprit (or None), the last good/bad positions, every probe, and the ranges walked."""

    commits: list  # good first, bad last
    culprit: Commit | None = None
    outcome: str = ""  # "culprit", "no regression", "inconclusive", "all skipped"
    probes: list = field(default_factory=list)
    path: list = field(default_factory=list)  # (good index, bad index) before each probe

    @property
    def runs(self) -> int:
        """Return the number of A/B runs made (re-measurements included)."""
        return len(self.probes)


def judge(pooled: dict[str, list], threshold: float, alpha: float,
          min_blocks: int) -> tuple[ab_stats.PairedVerdict, str]:
    """Return (verdict, clock): the worse of the CPU and wall verdicts on a probe's pooled block log-ratios per clock
    (the A/B gate's rule, ``--clock both``), at the last planned look of the design starting at ``min_blocks``."""
    verdicts = [(ab_stats.decide(blocks, threshold, alpha, min_blocks, MAX_BLOCKS), clock)
                for clock, blocks in pooled.items()]
    return min(verdicts, key=lambda vc: SEVERITY.index(vc[0].verdict))


def more_blocks(settings: Settings, have: int) -> Settings | None:
    """Return the settings of a re-measurement that brings a probe from ``have`` pooled blocks to the first planned
    look of at least twice as many (budget in proportion), or None when the design's last look is reached."""
    looks = ab_stats.look_schedule(settings.min_blocks, MAX_BLOCKS)
    target = next((n for n in looks if n >= 2 * have), looks[-1])
    if target - have < 2:
        return None
    new = target - have
    return dataclasses.replace(settings, min_blocks=new, max_blocks=new,
                               budget_s=settings.budget_s * new / settings.min_blocks)


def bisect(commits: list[Commit], entry: Entry, settings: Settings, store: HistoryStore, max_tries: int = 3,
           measurer: Measurer = measure_ab, report=None) -> Bisection:
    """Return the first commit after ``commits[0]`` (good) that is slower than it by more than the threshold.

    A probe of commit m measures it against the good commit: regressed -> the culprit is at or before m; no change
    or improved -> after m; inconclusive -> measured again (``more_blocks``: up to the next planned look of at least
    twice the blocks), the new blocks pooled with the probe's earlier ones and judged together (``max_tries`` runs in
    all, then the bisection stops inconclusive: never a coin flip); a commit that cannot be measured is skipped and
    its nearest neighbour probed. The bad end is probed too when no probe showed a regression.
    """
    good, bad = 0, len(commits) - 1
    out = Bisection(commits)
    skipped: set[int] = set()
    bad_seen = False

    def probe(i: int) -> str:
        s, pooled = settings, {}  # clock -> the block log-ratios of every run of this probe
        for attempt in range(1, max_tries + 1):
            p = note_skip(store, measurer(commits[i], commits[0].sha, [entry], s, store, "bisect"), commits[0].sha)
            if p.skipped:
                out.probes.append(Evidence(i, commits[i], attempt, "skipped", reason=p.skipped))
                skipped.add(i)
                return "skipped"
            for r in p.rows:
                if r["labels"]["entry"] == entry.name:
                    pooled.setdefault(r["labels"]["clock"], []).extend(r["samples"] or [])
            v, clock = judge(pooled, settings.threshold, settings.alpha, settings.min_blocks)
            out.probes.append(Evidence(i, commits[i], attempt, str(v.verdict), v.ratio, v.ci_low, v.ci_high,
                                       v.pvalue, v.n, clock, v.reason))
            if report:
                report(out.probes[-1])
            if v.verdict != Verdict.INCONCLUSIVE:
                return "bad" if v.verdict == Verdict.REGRESSED else "good"
            s = more_blocks(settings, min(len(b) for b in pooled.values()))
            if s is None:
                break
        return "inconclusive"

    while bad - good > 1:
        free = [i for i in range(good + 1, bad) if i not in skipped]
        if not free:
            out.outcome = "all skipped"
            out.path.append((good, bad))
            return out
        mid = (good + bad) / 2
        m = min(free, key=lambda i: (abs(i - mid), i))
        out.path.append((good, bad))
        side = probe(m)
        if side == "inconclusive":
            out.outcome = "inconclusive"
            return out
        if side == "bad":
            bad, bad_seen = m, True
        elif side == "good":
            good = m
    if not bad_seen:
        out.path.append((good, bad))
        side = probe(bad)
        if side != "bad":
            out.outcome = {"good": "no regression", "skipped": "all skipped"}.get(side, side)
            return out
    out.path.append((good, bad))
    out.culprit, out.outcome = commits[bad], "culprit"
    return out
