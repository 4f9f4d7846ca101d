"""``pgan-harness report``: write the markdown report (tables, CSV/JSON, plots) from result directories."""
from __future__ import annotations

import argparse

from harness.errors import BadInput, writable
from harness.judge.baseline_files import load_baseline
from harness.records.store import read_records
from harness.report.render import write_report


def run(args: argparse.Namespace) -> int:
    """Load the records (and optional model-card baseline) and write the report; return 0 (bad input raises)."""
    out = writable("--out", args.out, folder=True)
    records = read_records(args.results)
    if not records:
        raise BadInput(f"no records under {', '.join(args.results)}; expected result folders holding records.jsonl")
    baseline = load_baseline(args.baseline, "model-card") if args.baseline else None
    print(write_report(records, out, baseline))
    return 0


def register(subparsers) -> None:
    """Add the ``report`` subcommand."""
    p = subparsers.add_parser("report", help="write report.md (+ CSV, JSON, PNG) from results",
                              description="Write a markdown report in the model card's layout with per-scale step "
                                          "time, projected training time, loss envelopes, FID and latency tables.")
    p.add_argument("--results", nargs="+", default=["results"], metavar="DIR", help="result directories")
    p.add_argument("--baseline", metavar="FILE", help="model-card baseline (`baseline --from-model-card`)")
    p.add_argument("--out", default="results/report", metavar="DIR", help="output directory (default: results/report)")
    p.set_defaults(func=run)
