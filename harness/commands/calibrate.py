"""``pgan-harness calibrate``: run a scenario repeatedly and record its A/A noise for the gate's threshold."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.commands._options import add_run_options
from harness.errors import at_least
from harness.judge.baseline_files import calibration, save_baseline
from harness.records.store import read_records


def run(args: argparse.Namespace) -> int:
    """Run the scenario ``--runs`` times (or read ``--from-results`` runs) and write the calibration file."""
    if (args.scenario is None) == (args.from_results is None):
        print("give either SCENARIO (to run it --runs times) or --from-results DIR DIR ... (identical runs)",
              file=sys.stderr)
        return 2
    if args.from_results is not None:
        dirs = [Path(d) for d in args.from_results]
    else:
        from pgan_ref.cli_common import parse_sets

        from harness.runs.runner import run_scenario  # lazy: the runner imports the scenarios (and MindSpore)

        out = Path(args.out_dir)
        dirs = [run_scenario(args.scenario, out / f"aa-{i}", args.preset, args.device, args.devices, args.variant,
                             parse_sets(args.set)) for i in range(args.runs)]
    runs = [read_records([d]) for d in dirs]
    if len(runs) < 2 or not all(runs):
        print(f"calibrate needs >= 2 runs with records; got {[len(r) for r in runs]} from {[str(d) for d in dirs]}",
              file=sys.stderr)
        return 2
    calib = calibration(runs, k=args.k)
    calib["scenario"] = args.scenario or sorted({r["scenario"] for recs in runs for r in recs})
    calib["preset"], calib["variant"], calib["source"] = args.preset, args.variant, [str(d) for d in dirs]
    print(f"A/A noise (|log ratio| q{calib['quantile']:g}): overall {calib['noise_overall']:.4f} over "
          f"{len(calib['entries'])} entries")
    print(f"wrote {save_baseline(calib, args.calibration)}", file=sys.stderr)
    return 0


def register(subparsers) -> None:
    """Add the ``calibrate`` subcommand."""
    p = subparsers.add_parser("calibrate", help="measure A/A noise of a scenario for the gate's threshold",
                              description="Run SCENARIO --runs times with identical settings and write the A/A "
                                          "noise to a calibration file; `gate` then uses max(--max-slowdown, "
                                          "k x noise) as its threshold.")
    p.add_argument("scenario", metavar="SCENARIO", nargs="?", help="scenario to run --runs times")
    p.add_argument("--from-results", nargs="+", metavar="DIR",
                   help="instead of running: records of identical runs already made, one DIR per run "
                        "(e.g. two `bench --smoke --out` record folders)")
    add_run_options(p)
    p.add_argument("--runs", type=at_least(2), default=2, help="how many identical runs of SCENARIO (default 2)")
    p.add_argument("--k", type=at_least(0, float), default=1.0, help="threshold = max(--max-slowdown, k x noise) (default 1)")
    p.add_argument("--out-dir", default="results/calibrate", help="where the A/A runs write their records")
    p.add_argument("--calibration", default="reports/baselines/calibration.json", metavar="FILE",
                   help="calibration file to write (gate reads calibration.json beside its baseline)")
    p.set_defaults(func=run)
