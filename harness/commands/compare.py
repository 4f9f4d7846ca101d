"""``pgan-harness compare``: ad-hoc A/B of two runs with the gate's statistics."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.commands.gate import add_threshold_options, nothing_in_common, rows_table
from harness.errors import BadInput
from harness.judge import gate
from harness.judge.entries import group_entries, machine_fingerprints
from harness.records.store import read_records


def load_run(ref: str, results: list[str]) -> list[dict]:
    """Return the records of a result directory, or of the run id ``ref`` within the ``results`` dirs."""
    if Path(ref).exists():
        return read_records([ref])
    return [r for r in read_records(results) if r["run_id"] == ref or r["run_id"].startswith(ref)]


def run(args: argparse.Namespace) -> int:
    """Print the comparison of run B against run A; return the gate's exit code (bad input raises)."""
    a, b = load_run(args.run_a, args.results), load_run(args.run_b, args.results)
    for ref, recs in ((args.run_a, a), (args.run_b, b)):
        if not recs:
            raise BadInput(f"no records for {ref!r}; expected a result directory, or a run id under "
                           f"{', '.join(args.results)}")
    if machine_fingerprints(a) != machine_fingerprints(b):
        print("warning: the runs come from different machines (fingerprints differ)", file=sys.stderr)
    base, current = group_entries(a), group_entries(b)
    rows = gate.compare_entries(base, current, gate.threshold_function(args.max_slowdown, None), args.metric,
                                args.loss_margin)
    if not rows:
        only = f" of metric {', '.join(args.metric)}" if args.metric else ""
        raise BadInput(f"{args.run_a} and {args.run_b} have no measurement{only} in common (same scenario, metric "
                       f"and labels): {nothing_in_common(args.run_a, args.run_b, base, current)}")
    print(rows_table(rows))
    return gate.exit_code(rows)


def register(subparsers) -> None:
    """Add the ``compare`` subcommand."""
    p = subparsers.add_parser("compare", help="compare two runs (B against A) with the gate's statistics",
                              description="Compare RUN_B against RUN_A (result directories, or run ids within "
                                          "--results). Exit codes as for `gate`; 2 also when the runs have no "
                                          "measurement (scenario, metric, labels) in common.")
    p.add_argument("run_a", metavar="RUN_A", help="the reference run: a result directory or a run id")
    p.add_argument("run_b", metavar="RUN_B", help="the run compared with it: a result directory or a run id")
    p.add_argument("--results", nargs="+", default=["results"], metavar="DIR",
                   help="where to look up run ids (default: results)")
    add_threshold_options(p)
    p.set_defaults(func=run)
