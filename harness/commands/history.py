"""``pgan-harness history run|detect|accept|page``: per-commit step times against an anchor, change points and
creep (exit 1 when an unaccepted regression exists), accepting a change, and the static history page."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from harness.ab import revisions as revs
from harness.ab.driver import Settings, parse_entry
from harness.commands.gate import percent
from harness.errors import BadInput, at_least
from harness.history import detect as det
from harness.history import page, trend
from harness.history.measure import line, run_history
from harness.history.store import HistoryStore, accept_record
from harness.records.machine import collect_meta

DEFAULT_DIR = "results/history"


def entries_of(texts: list[str]) -> list:
    """Return the entries named on the command line (BadInput naming a bad one)."""
    try:
        return [parse_entry(t) for t in texts]
    except ValueError as e:
        raise BadInput(str(e)) from None


def repo_line(rev_range: str, anchor: str | None):
    """Return (repo, commits with the anchor first, anchor id); an unknown revision is bad input."""
    try:
        repo = revs.repo_root(Path.cwd())
        return (repo, *line(repo, rev_range, anchor))
    except revs.CannotCompare as e:
        raise BadInput(str(e)) from None


def add_measure_options(p: argparse.ArgumentParser, budget_help: str | None = None) -> None:
    """Add the options of one A/B measurement per commit (preset, blocks, threshold, budgets, history dir)."""
    p.add_argument("--preset", default="cpu-smoke", help="preset whose steps are timed (default cpu-smoke)")
    p.add_argument("--blocks", type=at_least(2), default=10,
                   help="blocks (two duet rounds, the sides swapping cores) per commit (default 10)")
    p.add_argument("--run-budget-s", type=at_least(1.0, float), default=120.0, metavar="S",
                   help="wall-clock budget of one commit's A/B run, compiles included (default 120)")
    p.add_argument("--threshold", type=percent, default=0.05, metavar="PCT",
                   help="smallest slowdown the A/B verdict calls regressed (default 5%%)")
    if budget_help:
        p.add_argument("--budget-s", type=at_least(1.0, float), metavar="S", help=budget_help)
    p.add_argument("--history", default=DEFAULT_DIR, metavar="DIR",
                   help=f"the history store (records.jsonl and worker logs; default {DEFAULT_DIR})")


def settings_from(args: argparse.Namespace) -> Settings:
    """Return the A/B settings of one commit's measurement: a fixed number of blocks within its own budget."""
    return Settings(preset=args.preset, budget_s=args.run_budget_s, threshold=args.threshold,
                    min_blocks=args.blocks, max_blocks=args.blocks)


def cmd_run(args: argparse.Namespace) -> int:
    """Measure the range's commits not yet stored; print what was measured or skipped."""
    _, commits, anchor = repo_line(args.range, args.anchor)
    store = HistoryStore(args.history)
    probes = run_history(store, commits, anchor, entries_of(args.entries), settings_from(args),
                         args.budget_s or float("inf"), progress=lambda total: tqdm(total=total, unit="commit",
                                                                                    file=sys.stderr),
                         retry_skipped=args.retry_skipped)
    for p in probes:
        what = f"skipped: {p.skipped}" if p.skipped else "  ".join(
            f"{r['labels']['entry']} {r['labels']['clock']} {r['value']:.3f}" for r in p.rows)
        print(f"{p.commit.sha[:10]} {p.commit.subject[:50]:<50} {what}")
    left = len(commits) - len(probes)
    print(f"history: {len(probes)} commit(s) measured against anchor {anchor[:10]}"
          + (f"; rerun to continue ({left} not measured now: stored before, or the budget ran out)" if left else ""))
    return 0


def detect_settings(args: argparse.Namespace) -> det.DetectSettings:
    """Return the detector settings from the command line."""
    return det.DetectSettings(min_size=args.min_size, penalty=args.penalty, alpha=args.alpha,
                              min_step=args.min_step, creep=args.creep)


def cmd_detect(args: argparse.Namespace) -> int:
    """Print each entry's change points and creep; exit 1 when a regression or creep is not yet accepted."""
    _, commits, anchor = repo_line(args.range, args.anchor)
    store, s = HistoryStore(args.history), detect_settings(args)
    order = [c.sha for c in commits]
    points = store.points()
    entries = args.entries or sorted(set(points[points.anchor == anchor].entry))
    if not entries:
        raise BadInput(f"{args.history}: no commit of {args.range!r} measured against anchor {anchor[:10]} "
                       f"(run `pgan-harness history run {args.range}` first)")
    alarm = False
    for entry in entries:
        ser, found = trend.entry_trend(store, points, order, anchor, entry, args.clock, s)
        print(f"## {entry} ({args.clock} time, {len(ser)} commits, anchor {anchor[:10]})")
        for c in found.change_points:
            row = ser.iloc[c.index]
            tag = "REGRESSION" if c.regression(s) else ("slower (below min step)" if c.step > 1 else "faster")
            print(f"  change at {row.commit[:10]} {row.subject[:60]!r}: x{c.step:.3f} [{c.ci_low:.3f}, "
                  f"{c.ci_high:.3f}], p={c.pvalue:.2g}, {c.n_before} -> {c.n_after} commits: {tag}"
                  + (" (accepted)" if c.index < found.since else ""))
        if found.creep:
            cr = found.creep
            print(f"  creep: last {s.min_size} commits x{cr.change:.3f} against the best segment "
                  f"{ser.commit.iloc[cr.best_start][:10]}..{ser.commit.iloc[cr.best_end - 1][:10]}, p={cr.pvalue:.2g}"
                  + (": CREEP" if cr.alarm(s) else ""))
        alarms = found.alarms(s)
        alarm |= bool(alarms)
        print(f"  {'ALARM' if alarms else 'ok'}: {len(alarms)} unaccepted regression(s)/creep")
    return 1 if alarm else 0


def cmd_accept(args: argparse.Namespace) -> int:
    """Record that the change at a commit is accepted (detect then looks only after it)."""
    try:
        sha = revs.resolve(revs.repo_root(Path.cwd()), args.rev)
    except revs.CannotCompare as e:
        raise BadInput(str(e)) from None
    if args.entry != "*":
        entries_of([args.entry])
    HistoryStore(args.history).append([accept_record(meta=collect_meta("CPU", 1), commit=sha, entry=args.entry,
                                                     why=args.why)])
    print(f"history: accepted the change at {sha[:10]} for {args.entry}: {args.why}")
    return 0


def cmd_page(args: argparse.Namespace) -> int:
    """Write the static HTML history page and print the markdown trend table."""
    _, commits, anchor = repo_line(args.range, args.anchor)
    store = HistoryStore(args.history)
    html, table = page.build(store, commits, anchor, args.clock, detect_settings(args))
    page.write(Path(args.out), html)
    print(table)
    print(f"history page: {args.out}")
    return 0


def _add_detect_options(p: argparse.ArgumentParser) -> None:
    d = det.DetectSettings()
    p.add_argument("range", nargs="?", default="HEAD", metavar="REV_RANGE",
                   help="commits in first-parent order, e.g. v1.0..main (default HEAD: its whole first-parent line)")
    p.add_argument("--anchor", metavar="REV", help="the anchor the ratios are to (default: the left end of A..B, "
                                                    "else the oldest commit)")
    p.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                   help="process-CPU (default, steadier) or wall seconds per step")
    p.add_argument("--min-size", type=at_least(2), default=d.min_size,
                   help=f"commits on each side of a change point (default {d.min_size}; a lone slow commit is none)")
    p.add_argument("--penalty", type=at_least(0.0, float), default=d.penalty,
                   help=f"PELT penalty in units of sigma^2 log(n) (default {d.penalty:g})")
    p.add_argument("--alpha", type=at_least(0.0, float), default=d.alpha,
                   help=f"two-sided permutation p below which a change is real (default {d.alpha:g})")
    p.add_argument("--min-step", type=percent, default=d.min_step, metavar="PCT",
                   help=f"smallest step that is a regression (default {100 * d.min_step:g}%%)")
    p.add_argument("--creep", type=percent, default=d.creep, metavar="PCT",
                   help=f"cumulative slowdown against the best segment that alarms (default {100 * d.creep:g}%%)")
    p.add_argument("--history", default=DEFAULT_DIR, metavar="DIR", help=f"the history store (default {DEFAULT_DIR})")


def register(subparsers) -> None:
    """Add the ``history`` subcommand and its actions."""
    p = subparsers.add_parser(
        "history", help="performance history: per-commit ratios to an anchor, change points, creep, page",
        description="Keep every commit's step time as a ratio to a fixed anchor revision measured in the same duet "
                    "A/B run (comparable across machines), find change points and creep, accept changes, and "
                    "write a static page. See README, 'Performance history'.")
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    r = sub.add_parser("run", help="measure the commits of a range not yet stored (resumable)",
                       description="Measure each first-parent commit of REV_RANGE against the anchor (the base side "
                                   "of a duet A/B run), oldest first, skipping commits already stored for this "
                                   "machine. Each commit's own pyproject pins must be met by this environment; "
                                   "commits older than the A/B worker are run by today's worker on their own code "
                                   "when they have the step-time API; a commit that cannot be measured is skipped "
                                   "with the reason recorded. Exit 0, 2 bad input, 130 interrupted (what was "
                                   "measured stays).")
    r.add_argument("range", metavar="REV_RANGE", help="e.g. v1.0..main, or a branch (its whole first-parent line)")
    r.add_argument("--anchor", metavar="REV", help="the base of every run (default: the left end of A..B, else the "
                                                    "oldest commit); measured too, as an A/A point")
    r.add_argument("--entries", nargs="+", default=["4:stable"], metavar="SCALE:PHASE",
                   help="entries measured per commit (default 4:stable)")
    r.add_argument("--retry-skipped", action="store_true",
                   help="measure again the commits skipped before (e.g. by an older harness that could not measure "
                        "them); default: a skipped commit stays skipped")
    add_measure_options(r, "stop starting commits after S seconds (default: none); rerun to continue")
    r.set_defaults(func=cmd_run)
    d = sub.add_parser("detect", help="change points and creep per entry; exit 1 on an unaccepted regression",
                       description="Per entry: PELT (ruptures, l2 cost) segments the commits' log-ratios to the "
                                   "anchor; each boundary is tested by a permutation test of its two segments (p, "
                                   "step with a bootstrap CI); creep compares the last --min-size commits with the "
                                   "fastest segment. Exit 1 when a regression or creep lies after the last accepted "
                                   "change, 0 otherwise, 2 when nothing is stored.")
    _add_detect_options(d)
    d.add_argument("--entries", nargs="+", metavar="SCALE:PHASE", help="entries (default: every entry stored)")
    d.set_defaults(func=cmd_detect)
    a = sub.add_parser("accept", help="accept the change at a commit (recorded with the reason)",
                       description="Append an acceptance to the history: detect then judges only commits after REV "
                                   "for the entry (or all entries).")
    a.add_argument("rev", metavar="REV", help="the commit whose change is accepted")
    a.add_argument("--why", required=True, help="the reason, recorded (e.g. 'larger model, intended')")
    a.add_argument("--entry", default="*", help="SCALE:PHASE, or * for every entry (default *)")
    a.add_argument("--history", default=DEFAULT_DIR, metavar="DIR", help=f"the history store (default {DEFAULT_DIR})")
    a.set_defaults(func=cmd_accept)
    g = sub.add_parser("page", help="write the static HTML history page, print the trend table",
                       description="One plot per entry over the commits (change points marked, commit ids and "
                                   "subjects), plots inlined: the file opens without a network.")
    _add_detect_options(g)
    g.add_argument("--out", default=f"{DEFAULT_DIR}/history.html", metavar="FILE",
                   help=f"the HTML file (default {DEFAULT_DIR}/history.html)")
    g.set_defaults(func=cmd_page)
