"""``pgan-harness bench``: run the pytest-benchmark suite, convert its JSON to records, write the report."""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from pgan_ref.config import list_presets
from pgan_ref.device import DEVICES

SCENARIOS = {"step-time": "step_time_per_scale or full_width", "loss-ranges": "loss_ranges",
             "fid": "fid or inception or preprocess or frechet", "mindir-latency": "mindir",
             "quality": "swd_ms_ssim"}
REPO_BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
# Run order: training first, so the fid and quality benchmarks find the generator that loss-ranges trained.
BENCH_FILES = ("bench_step_time.py", "bench_fid.py", "bench_mindir.py")
SMOKE_ROUNDS, SMOKE_MIN_TIME = 15, 4.0  # per step-time phase in the CI smoke (fast steps run until 4 s are spent)


def register(sub) -> None:
    """Add the ``bench`` subcommand."""
    p = sub.add_parser("bench", help="run the benchmark suite (what `tox -e bench` runs) and write the report",
                       description="Run benchmarks/ with pytest-benchmark on a device and preset; records go to "
                                   "OUT/records, the markdown report and plots to --report-dir.")
    p.add_argument("--device", default="CPU", choices=DEVICES, help="device kind (default CPU)")
    p.add_argument("--devices", type=int, default=1, help="data-parallel devices for step-time (msrun when > 1)")
    p.add_argument("--preset", default="cpu-smoke", choices=list_presets(), help="preset (default cpu-smoke)")
    p.add_argument("--variant", default="reference", choices=["reference", "modelzoo"], help="model variant")
    p.add_argument("--scenarios", default=",".join(SCENARIOS),
                   help=f"comma-separated subset of {', '.join(SCENARIOS)} (default: all)")
    p.add_argument("--rounds", type=int, default=10, help="least timed rounds per benchmark (default 10)")
    p.add_argument("--min-time", type=float, default=3.0, metavar="S",
                   help="least timed seconds per step-time phase: fast steps run more rounds (default 3)")
    p.add_argument("--smoke", action="store_true",
                   help=f"CI smoke: step-time only, >= {SMOKE_ROUNDS} rounds and >= {SMOKE_MIN_TIME:g} s per phase, "
                        "no full-width benchmark")
    p.add_argument("--no-full-width", action="store_true", help="skip the full-width (512-channel) benchmark")
    p.add_argument("--out", default="results/bench", help="where benchmark JSON and records go")
    p.add_argument("--report-dir", default="reports", help="where report.md and plots go (default reports/)")
    p.add_argument("--no-report", action="store_true", help="do not write the report")
    p.add_argument("--seed", type=int, default=0, help="seed of the benchmark runs (default 0)")
    p.set_defaults(func=main)


def main(args) -> int:
    """Run the suite; return pytest's exit code (0 when every benchmark ran)."""
    import pytest

    from ..bench_records import benchmark_records
    from ..records import RecordStore, collect_meta, new_run_id

    if args.smoke:
        args.scenarios, args.rounds, args.min_time = "step-time", SMOKE_ROUNDS, SMOKE_MIN_TIME
        args.no_full_width = True
    chosen = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SCENARIOS]
    if unknown:
        print(f"error: unknown scenario(s) {unknown}; choose from {', '.join(SCENARIOS)}", file=sys.stderr)
        return 2
    out = Path(args.out)
    records_dir = out / "records"
    env = {"PGAN_BENCH_DEVICE": args.device, "PGAN_BENCH_DEVICES": str(args.devices),
           "PGAN_BENCH_PRESET": args.preset, "PGAN_BENCH_VARIANT": args.variant,
           "PGAN_BENCH_ROUNDS": str(args.rounds), "PGAN_BENCH_MIN_TIME": str(args.min_time),
           "PGAN_BENCH_OUT": str(records_dir),
           "PGAN_BENCH_SEED": str(args.seed), "PGAN_BENCH_FULL_WIDTH": "0" if args.no_full_width else "1"}
    os.environ.update(env)
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / "benchmark.json"
    t0 = time.monotonic()
    code = pytest.main([*(str(REPO_BENCHMARKS / f) for f in BENCH_FILES), "-p", "no:cacheprovider", "-o", "python_files=bench_*.py",
                        "-k", " or ".join(f"({SCENARIOS[s]})" for s in chosen), "--benchmark-json", str(json_path),
                        "--benchmark-columns=median,iqr,min,max,rounds", "-v"])
    if json_path.exists():
        meta = collect_meta(args.device, args.devices)
        RecordStore(records_dir).append(benchmark_records(json_path, new_run_id(), meta,
                                                          {"preset": args.preset, "device": args.device,
                                                           "devices": args.devices, "variant": args.variant}))
    if not args.no_report:
        from ..modelcard import load_baseline
        from ..records import read_records
        from ..report import write_report

        card = Path(args.report_dir) / "baselines" / "pgan_modelcard.yaml"
        path = write_report(read_records([records_dir]), args.report_dir,
                            load_baseline(card) if card.exists() else None)
        print(f"report: {path.resolve()}")
    print(f"bench finished in {time.monotonic() - t0:.0f} s (pytest exit {int(code)}); records in {records_dir}")
    return int(code)
