"""``pgan-harness calibrate``: run a scenario repeatedly and record its A/A noise for the gate's threshold."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..gate import calibration
from ..modelcard import save_baseline
from ..records import read_records


def parse_overrides(items: list[str]) -> dict:
    """Return ``--set key=value`` items as a dict (values kept as strings)."""
    return dict(item.split("=", 1) for item in items)


def run(args: argparse.Namespace) -> int:
    """Run the scenario ``--runs`` times into separate directories and write the calibration file."""
    from ..runner import run_scenario  # lazy: the runner imports the scenarios (and MindSpore)

    if args.runs < 2:
        print("calibrate needs --runs >= 2", file=sys.stderr)
        return 2
    out = Path(args.out_dir)
    dirs = [run_scenario(args.scenario, out / f"aa-{i}", args.preset, args.device, args.devices, args.variant,
                         parse_overrides(args.set)) for i in range(args.runs)]
    calib = calibration([read_records([d]) for d in dirs], k=args.k)
    calib["scenario"], calib["preset"], calib["variant"] = args.scenario, args.preset, args.variant
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
    p.add_argument("scenario", metavar="SCENARIO")
    p.add_argument("--preset", default="cpu-smoke")
    p.add_argument("--device", default="CPU")
    p.add_argument("--devices", type=int, default=1)
    p.add_argument("--variant", default="reference")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="scenario override (repeatable)")
    p.add_argument("--runs", type=int, default=2)
    p.add_argument("--k", type=float, default=1.0, help="threshold = max(--max-slowdown, k x noise) (default 1)")
    p.add_argument("--out-dir", default="results/calibrate", help="where the A/A runs write their records")
    p.add_argument("--calibration", default="reports/baselines/calibration.json", metavar="FILE",
                   help="calibration file to write (gate reads calibration.json beside its baseline)")
    p.set_defaults(func=run)
