"""``pgan-harness ingest-log``: read real ModelZoo / pytorch_GAN_zoo / 310 logs into ``records.jsonl``."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.errors import at_least
from harness.logs import ingest
from harness.records.machine import collect_meta
from harness.records.store import RecordStore, new_run_id

EXIT_OK, EXIT_BAD_INPUT = 0, 2


def run(args) -> int:
    """Ingest each log, print its summary; return 0, or 2 if a log was unreadable or no log gave a record."""
    run_id, store = new_run_id(), RecordStore(args.out)
    meta = collect_meta(device=args.device, device_count=args.devices)
    code, total = EXIT_OK, 0
    for path in args.logs:
        try:
            result = ingest.parse_log(Path(path), args.format, units=args.units, batch_size=args.batch_size,
                                      devices=args.devices, device=args.device, run_id=run_id, meta=meta)
        except OSError as e:
            print(f"{path}: unreadable: {e}")
            code = EXIT_BAD_INPUT
            continue
        total += store.append(result.records)
        print(result.summary(path))
    print(f"{total} records appended to {store.path} (run {run_id})")
    if code == EXIT_OK and total == 0:
        print(f"error: no record recognised in {', '.join(args.logs)}; expected ModelZoo / pytorch_GAN_zoo training "
              f"logs or a 310 time_Result file (see --format)", file=sys.stderr)
        return EXIT_BAD_INPUT
    return code


def register(subparsers) -> None:
    """Register the ``ingest-log`` subcommand."""
    p = subparsers.add_parser(
        "ingest-log", help="read real training/inference logs into records (scenario 'ingest')",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Read ModelZoo training logs (batch_i, timing-monitor and Scale lines), pytorch_GAN_zoo\n"
                    "logs and ModelZoo 310 time_Result files into records appended to OUT/records.jsonl.\n"
                    "Malformed lines are counted by kind and reported, never fatal; other output is ignored.\n\n"
                    "Old ModelZoo monitors (before 2022-04) print 'per step time is X ms' with X in seconds.\n"
                    "By default the unit is decided from the log's batch_i timestamps, else X < 10 is read as\n"
                    "seconds; --old-units / --new-units force seconds / milliseconds.\n\n"
                    "Exit 0 ok, 2 a log was unreadable or nothing was recognised.")
    p.add_argument("logs", nargs="+", metavar="LOG", help="log files")
    p.add_argument("--out", default="results", help="results directory (default: results)")
    p.add_argument("--format", default="auto", choices=("auto", *ingest.FORMATS),
                   help="log format (default: detected from the lines)")
    p.add_argument("--batch-size", type=at_least(1), default=None,
                   help="per-device batch size for the labels (default 16; 64 for modelzoo-310)")
    p.add_argument("--devices", type=at_least(1), default=1, help="number of devices the log's run used (default 1)")
    p.add_argument("--device", default="unknown", help="device kind the log's run used, e.g. Ascend910 "
                                                       "(default: unknown)")
    units = p.add_mutually_exclusive_group()
    units.add_argument("--old-units", dest="units", action="store_const", const="old",
                       help="read 'per step time is X ms' as seconds")
    units.add_argument("--new-units", dest="units", action="store_const", const="new",
                       help="read 'per step time is X ms' as milliseconds")
    p.set_defaults(func=run, units="auto")
