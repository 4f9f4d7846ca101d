"""``pgan-harness ingest-log``: read real ModelZoo / pytorch_GAN_zoo / 310 logs into ``records.jsonl``."""
from __future__ import annotations

import argparse
import os
import stat
from pathlib import Path

from harness.errors import BadInput, at_least, writable
from harness.logs import ingest
from harness.records.machine import collect_meta
from harness.records.store import RecordStore, new_run_id

ACCEPTED = "expected ModelZoo / pytorch_GAN_zoo training logs or a 310 time_Result file (see --format)"


def _check_readable(path: str) -> None:
    """Raise BadInput naming ``path`` unless it is a regular file this process can read (a log is read twice, so
    a pipe such as ``<(zcat train.log.gz)`` is refused, without opening it)."""
    try:
        mode = os.stat(path).st_mode
        if stat.S_ISREG(mode):
            open(path, "rb").close()
    except OSError as e:
        raise BadInput(f"cannot read log {path} ({e.strerror or e}); {ACCEPTED}") from None
    if not stat.S_ISREG(mode):
        what = "a folder" if stat.S_ISDIR(mode) else "not a regular file (a pipe?): it is read twice, so save it first"
        raise BadInput(f"log {path} is {what}; {ACCEPTED}")


def run(args) -> int:
    """Stream each log's records into OUT/records.jsonl and print its summary; return 0 (bad input raises: a log
    that cannot be read, checked before anything is written, or no record recognised in any log)."""
    store = RecordStore(writable("--out", args.out, folder=True))
    for path in args.logs:
        _check_readable(path)
    run_id, meta = new_run_id(), collect_meta(device=args.device, device_count=args.devices)
    total = 0
    for path in args.logs:
        result = ingest.IngestResult()
        records = ingest.stream_log(Path(path), args.format, units=args.units, batch_size=args.batch_size,
                                    devices=args.devices, device=args.device, run_id=run_id, meta=meta, result=result)
        try:
            total += store.append(records)
        except OSError as e:  # reading the log or writing the store failed mid-way
            kept = f"; the records appended before are kept in {store.path}" if total + result.count else ""
            raise BadInput(f"ingest of log {path} stopped ({e.strerror or e}){kept}") from None
        print(result.summary(path))
    if total == 0:
        raise BadInput(f"no record recognised in {', '.join(args.logs)}; {ACCEPTED}")
    print(f"{total} records appended to {store.path} (run {run_id})")
    return 0


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
                    "Logs are streamed: records are appended as each segment (scale) of a log ends, and memory\n"
                    "does not grow with the log's length.\n\n"
                    "Exit 0 ok, 2 a log cannot be read (checked before anything is written) or nothing was\n"
                    "recognised (nothing is written).")
    p.add_argument("logs", nargs="+", metavar="LOG", help="log files")
    p.add_argument("--out", default="results", metavar="DIR",
                   help="results folder; records are appended to DIR/records.jsonl (default: results)")
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
