"""Measure commits against the anchor with the duet A/B driver and add them to the history (skipping what is stored)."""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from harness.ab import revisions as revs
from harness.ab.driver import Entry, Settings, WorkerError, run_ab
from harness.errors import BadInput
from harness.history.store import HistoryStore, ratio_record, skip_record
from harness.records.machine import collect_meta

CLOCKS = ("cpu", "wall")


@dataclass(frozen=True)
class Commit:
    """One commit of a first-parent line: full id and subject."""

    sha: str
    subject: str


def first_parent(repo: Path, rev_range: str) -> list[Commit]:
    """Return the commits of ``rev_range`` (``A..B`` or one revision: its whole first-parent line), oldest first."""
    out = revs.git(repo, "log", "--first-parent", "--reverse", "--format=%H %s", rev_range, "--")
    if out.returncode:
        raise BadInput(f"revision range {rev_range!r}: {out.stderr.strip().splitlines()[0] if out.stderr else 'unknown'}"
                       f" (give A..B, a branch or a commit)")
    return [Commit(*line.split(" ", 1)) if " " in line else Commit(line, "")
            for line in out.stdout.splitlines() if line]


def line(repo: Path, rev_range: str, anchor: str | None) -> tuple[list[Commit], str]:
    """Return the first-parent commits of ``rev_range`` with the anchor first (added when outside the range) and
    the anchor's full id; the anchor defaults to the left end of ``A..B``, else the oldest commit."""
    commits = first_parent(repo, rev_range)
    anchor = anchor or (rev_range.split("..")[0] if ".." in rev_range else (commits[0].sha if commits else None))
    if not commits or not anchor:
        raise BadInput(f"revision range {rev_range!r} holds no commits")
    sha = revs.resolve(repo, anchor)
    if sha not in {c.sha for c in commits}:
        commits = [Commit(sha, revs.git(repo, "log", "-1", "--format=%s", sha).stdout.strip())] + commits
    return commits, sha


@dataclass(frozen=True)
class Probe:
    """One commit measured against the anchor: per entry and clock the history record; or why it was skipped."""

    commit: Commit
    rows: list  # history_ratio records (empty when skipped)
    skipped: str = ""  # the reason, when the commit could not be measured
    ab_rows: list = ()  # the A/B summary records (verdict, ratio, CI, p per entry)


Measurer = Callable[[Commit, str, list, Settings, HistoryStore, str], Probe]


def measure_ab(commit: Commit, anchor: str, entries: list[Entry], settings: Settings, store: HistoryStore,
               source: str, repo: Path | None = None) -> Probe:
    """Return ``commit`` measured against ``anchor`` in one duet A/B run (the anchor is the base side); its step
    records go to the store. Each side must have its own pins met by this environment; a side older than the A/B
    worker is run by today's worker on its own code. A commit that cannot be measured (pins this environment does
    not meet, no step-time API, a failed worker) comes back with the reason."""
    repo = repo or revs.repo_root(Path.cwd())
    try:
        base = revs.describe(repo, anchor, "base")
        head = revs.describe(repo, commit.sha, "head")
        for r in (base, head):
            revs.check_environment(repo, r)
        with contextlib.ExitStack() as stack:
            today = stack.enter_context(revs.today_worker())
            base, head = (revs.with_worker(repo, r, today) for r in (base, head))
            head = stack.enter_context(revs.checkout(repo, head))
            base = stack.enter_context(revs.checkout(repo, base))
            run = run_ab(base, head, entries, settings, store.dir)
    except (revs.CannotCompare, WorkerError) as e:
        return Probe(commit, [], str(e))
    rows = []
    for st in run.states:
        for clock in CLOCKS:
            base_s, head_s = st.pairs(clock)
            rows.append(ratio_record(meta=run.meta, anchor=base.commit, commit=head.commit, subject=commit.subject,
                                     entry=st.entry.name, clock=clock, blocks=st.block_log_ratios(clock),
                                     base_median_s=_median(base_s), head_median_s=_median(head_s), source=source,
                                     ab_run_id=run.run_id, run_id=run.run_id, worker=head.worker))
    store.append(rows)
    return Probe(commit, rows, "", run.summary)


def note_skip(store: HistoryStore, probe: Probe, anchor: str) -> Probe:
    """Record why a probe's commit was skipped (nothing for a measured one); return the probe."""
    if probe.skipped:
        store.append([skip_record(meta=collect_meta("CPU", 1), anchor=anchor, commit=probe.commit.sha,
                                  subject=probe.commit.subject, reason=probe.skipped)])
    return probe


def _median(x) -> float | None:
    return float(np.median(x)) if len(x) else None


def missing(store: HistoryStore, commits: list[Commit], anchor: str, entries: list[Entry],
            fingerprint: str, retry_skipped: bool = False) -> list[Commit]:
    """Return the commits with no stored ratio to ``anchor`` for every entry on this fingerprint, nor a skip (a
    commit that cannot be measured against the anchor is skipped on every machine) unless ``retry_skipped``."""
    points, skips = store.points(), store.skips()
    here = points[(points.fingerprint == fingerprint) & (points.anchor == anchor)]
    done = {c for c, g in here.groupby("commit") if {e.name for e in entries} <= set(g.entry)}
    skipped = set() if retry_skipped else set(skips[skips.anchor == anchor].commit)
    return [c for c in commits if c.sha not in done and c.sha not in skipped]


def run_history(store: HistoryStore, commits: list[Commit], anchor: str, entries: list[Entry], settings: Settings,
                budget_s: float, measurer: Measurer = measure_ab, progress=None,
                fingerprint: str | None = None, retry_skipped: bool = False) -> list[Probe]:
    """Measure the commits not yet stored on this machine (``fingerprint``, default this one's), oldest first, until
    done or ``budget_s`` is spent (a commit started is finished); return the probes made. Running it again resumes
    where it stopped."""
    fingerprint = fingerprint or collect_meta("CPU", 1)["machine_fingerprint"]
    todo = missing(store, commits, anchor, entries, fingerprint, retry_skipped)
    deadline = time.monotonic() + budget_s
    done = []
    bar = progress(total=len(todo)) if progress else None
    try:
        for c in todo:
            if time.monotonic() >= deadline:
                break
            done.append(note_skip(store, measurer(c, anchor, entries, settings, store, "history run"), anchor))
            if bar:
                bar.update(1)
                bar.set_postfix_str(c.sha[:10] + (" skipped" if done[-1].skipped else ""))
    finally:
        if bar:
            bar.close()
    return done
