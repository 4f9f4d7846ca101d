"""``pgan-harness report``: write the markdown report (tables, CSV/JSON, plots) from result directories."""
from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from harness.ab import revisions as revs
from harness.commands.history import DEFAULT_DIR
from harness.errors import BadInput, writable
from harness.history import detect as det
from harness.history import trend
from harness.history.measure import first_parent
from harness.history.store import HistoryStore
from harness.judge.baseline_files import load_baseline
from harness.records.store import read_records
from harness.report.render import write_report


def history_trend(args: argparse.Namespace) -> pd.DataFrame | None:
    """Return the trend table of the history store (``--history``, else the default store when it holds records)
    over the first-parent line of ``--history-range``; None when there is no store to read."""
    store = HistoryStore(args.history or DEFAULT_DIR)
    if not store.records.path.exists():
        if args.history:
            raise BadInput(f"--history {args.history}: no records.jsonl there (write one with `pgan-harness history "
                           f"run`)")
        return None
    try:
        commits = first_parent(revs.repo_root(Path.cwd()), args.history_range)
    except revs.CannotCompare as e:
        raise BadInput(f"--history-range {args.history_range}: {e}") from None
    return trend.table(store, [c.sha for c in commits], "cpu", det.DetectSettings())


def run(args: argparse.Namespace) -> int:
    """Load the records (and optional model-card baseline and history) and write the report; return 0 (bad input
    raises)."""
    out = writable("--out", args.out, folder=True)
    records = read_records(args.results)
    if not records:
        raise BadInput(f"no records under {', '.join(args.results)}; expected result folders holding records.jsonl")
    baseline = load_baseline(args.baseline, "model-card") if args.baseline else None
    print(write_report(records, out, baseline, history_trend(args)))
    return 0


def register(subparsers) -> None:
    """Add the ``report`` subcommand."""
    p = subparsers.add_parser("report", help="write report.md (+ CSV, JSON, PNG) from results",
                              description="Write a markdown report in the model card's layout with per-scale step "
                                          "time, projected training time, loss envelopes, FID and latency tables, "
                                          "and the performance history's trend table.")
    p.add_argument("--results", nargs="+", default=["results"], metavar="DIR", help="result directories")
    p.add_argument("--baseline", metavar="FILE", help="model-card baseline (`baseline --from-model-card`)")
    p.add_argument("--out", default="results/report", metavar="DIR", help="output directory (default: results/report)")
    p.add_argument("--history", metavar="DIR",
                   help=f"a history store (`pgan-harness history run`): adds the trend table per anchor and entry "
                        f"(default: {DEFAULT_DIR} when it holds records, else no history section)")
    p.add_argument("--history-range", default="HEAD", metavar="REV_RANGE",
                   help="the first-parent commits the trend table covers, e.g. v1.0..main (default HEAD: its whole "
                        "line; run inside the repository)")
    p.set_defaults(func=run)
