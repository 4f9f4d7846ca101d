"""Noisy bisection: the first commit between a good and a bad revision that is slower than the good one, each probe
a duet A/B run against the good commit (three outcomes; an inconclusive probe is re-measured with more blocks)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from harness.ab import stats as ab_stats
from harness.ab.driver import Entry, Settings
from harness.history.measure import Commit, Measurer, Probe, measure_ab, note_skip
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


def judge(probe: Probe, entry: str, threshold: float, alpha: float,
          min_blocks: int) -> tuple[ab_stats.PairedVerdict, str]:
    """Return (verdict, clock): the worse of the CPU and wall verdicts of ``entry`` in a probe (the A/B gate's rule, ``--clock both``)."""
    verdicts = [(ab_stats.decide(r["samples"] or [], threshold, alpha, min_blocks), r["labels"]["clock"])
                for r in probe.rows if r["labels"]["entry"] == entry]
    v, clock = min(verdicts, key=lambda vc: SEVERITY.index(vc[0].verdict))
    return v, clock


def bisect(commits: list[Commit], entry: Entry, settings: Settings, store: HistoryStore, max_tries: int = 3,
           measurer: Measurer = measure_ab, report=None) -> Bisection:
    """Return the first commit after ``commits[0]`` (good) that is slower than it by more than the threshold.

    A probe of commit m measures it against the good commit: regressed -> the culprit is at or before m; no change
    or improved -> after m; inconclusive -> measured again with twice the blocks and budget (``max_tries`` in all,
    then the bisection stops inconclusive: never a coin flip); a commit that cannot be measured is skipped and its
    nearest neighbour probed. The bad end is probed too when no probe showed a regression.
    """
    good, bad = 0, len(commits) - 1
    out = Bisection(commits)
    skipped: set[int] = set()
    bad_seen = False

    def probe(i: int) -> str:
        s = settings
        for attempt in range(1, max_tries + 1):
            p = note_skip(store, measurer(commits[i], commits[0].sha, [entry], s, store, "bisect"), commits[0].sha)
            if p.skipped:
                out.probes.append(Evidence(i, commits[i], attempt, "skipped", reason=p.skipped))
                skipped.add(i)
                return "skipped"
            v, clock = judge(p, entry.name, s.threshold, s.alpha, s.min_blocks)
            out.probes.append(Evidence(i, commits[i], attempt, str(v.verdict), v.ratio, v.ci_low, v.ci_high,
                                       v.pvalue, v.n, clock, v.reason))
            if report:
                report(out.probes[-1])
            if v.verdict != Verdict.INCONCLUSIVE:
                return "bad" if v.verdict == Verdict.REGRESSED else "good"
            s = dataclasses.replace(s, budget_s=2 * s.budget_s, min_blocks=2 * s.min_blocks,
                                    max_blocks=2 * s.max_blocks)
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
