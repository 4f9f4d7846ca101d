"""``pgan-harness bench``: run the benchmark suite (benchmarks/, a pytest plugin) on a device and preset, then the report."""
from __future__ import annotations

import sys
import time
from pathlib import Path

from harness.commands._options import add_run_options
from harness.errors import at_least, writable

REPO = Path(__file__).resolve().parents[2]
REPO_BENCHMARKS = REPO / "benchmarks"
MODEL_CARD = REPO / "reports" / "baselines" / "pgan_modelcard.yaml"
# Run order: training first, so the fid and quality benchmarks find the generator that loss-ranges trained.
BENCH_FILES = ("bench_step_time.py", "bench_fid.py", "bench_mindir.py")
SMOKE_ROUNDS, SMOKE_MIN_TIME = 15, 4.0  # per step-time phase in the CI smoke (fast steps run until 4 s are spent)


def register(sub) -> None:
    """Add the ``bench`` subcommand."""
    p = sub.add_parser("bench", help="run the benchmark suite (what `tox -e bench` runs) and write the report",
                       description="Run benchmarks/ with pytest-benchmark on a device and preset; records go to "
                                   "OUT/records, the markdown report and plots to --report-dir (default OUT/report).")
    add_run_options(p, overrides=False)
    p.add_argument("--scenarios", default=None,
                   help="comma-separated scenarios whose benchmarks run (names as in `pgan-harness run --help`; "
                        "default: all)")
    p.add_argument("--rounds", type=at_least(1), default=10, help="least timed rounds per benchmark (default 10)")
    p.add_argument("--min-time", type=at_least(0, float), default=3.0, metavar="S",
                   help="least timed seconds per step-time phase: fast steps run more rounds (default 3)")
    p.add_argument("--smoke", action="store_true",
                   help=f"CI smoke: step-time only, >= {SMOKE_ROUNDS} rounds and >= {SMOKE_MIN_TIME:g} s per phase, "
                        "no full-width benchmark")
    p.add_argument("--no-full-width", action="store_true", help="skip the full-width (512-channel) benchmark")
    p.add_argument("--out", default="results/bench", help="where benchmark JSON and records go (default results/bench)")
    p.add_argument("--report-dir", default=None, metavar="DIR",
                   help="where report.md and plots go (default OUT/report; the committed sample is reports/sample/)")
    p.add_argument("--card", default=str(MODEL_CARD), metavar="FILE",
                   help="model-card baseline the report compares with (default reports/baselines/pgan_modelcard.yaml)")
    p.add_argument("--no-report", action="store_true", help="do not write the report")
    p.add_argument("--seed", type=at_least(0), default=0, help="seed of the benchmark runs (default 0)")
    p.set_defaults(func=main)


def main(args) -> int:
    """Run the suite; return pytest's exit code (0 when every benchmark ran)."""
    import pytest

    from harness.scenarios.registry import SCENARIOS

    if args.smoke:
        if args.scenarios not in (None, "step-time"):
            print(f"error: --smoke runs the step-time benchmarks only; drop --scenarios {args.scenarios} or --smoke",
                  file=sys.stderr)
            return 2
        args.scenarios = "step-time"
        args.rounds, args.min_time = max(args.rounds, SMOKE_ROUNDS), max(args.min_time, SMOKE_MIN_TIME)
        args.no_full_width = True
    chosen = [s.strip() for s in (args.scenarios or ",".join(SCENARIOS)).split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SCENARIOS]
    if unknown:
        print(f"error: unknown scenario(s) {unknown}; choose from {', '.join(SCENARIOS)}", file=sys.stderr)
        return 2
    out = writable("--out", args.out, folder=True)
    records_dir = out / "records"
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    code = pytest.main([*(str(REPO_BENCHMARKS / f) for f in BENCH_FILES), "-p", "no:cacheprovider",
                        "-o", "python_files=bench_*.py", "--benchmark-json", str(out / "benchmark.json"),
                        "--benchmark-columns=median,iqr,min,max,rounds", "-v",
                        "--pgan-device", args.device, "--pgan-devices", str(args.devices),
                        "--pgan-preset", args.preset, "--pgan-variant", args.variant,
                        "--pgan-rounds", str(args.rounds), "--pgan-min-time", str(args.min_time),
                        "--pgan-records", str(records_dir), "--pgan-seed", str(args.seed),
                        "--pgan-scenarios", ",".join(chosen),
                        *(["--pgan-no-full-width"] if args.no_full_width else [])])
    if not args.no_report:
        from harness.judge.baseline_files import load_baseline
        from harness.records.store import read_records
        from harness.report.render import write_report

        card = Path(args.card)
        path = write_report(read_records([records_dir]), args.report_dir or out / "report",
                            load_baseline(card, "model-card") if card.exists() else None)
        print(f"report: {path.resolve()}")
    print(f"bench finished in {time.monotonic() - t0:.0f} s (pytest exit {int(code)}); records in {records_dir}")
    return int(code)
