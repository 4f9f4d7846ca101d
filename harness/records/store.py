"""Measurement records: building one (schema 2), checking a stored line, and the append-only JSON-lines store.

One record is one measurement (a dict, one JSON line in ``{out}/records.jsonl``):

    schema        2 (``harness.records.schema``: version, migration of schema-1 records, the typed ``Record``)
    run_id        "20261126T130501Z-3f2a9c" (one per harness invocation; all ranks share it)
    scenario      "step-time" | "loss-ranges" | "fid" | "mindir-latency" | "ingest" | "bench" ...
    source        "harness" | "modelzoo-log" | "modelzoo-310" | "pytorch-gan-zoo-log" | "pytest-benchmark"
    metric        "step_time" | "compile_time" | "data_time" | "loss_g" | "loss_d" | "gp" | "drift" |
                  "fid" | "kid" | "latency" | "throughput" | "total_time" | "harness_overhead" | ...
    unit          "s" | "ms" | "images/s" | "FLOP/s" | "1"
    value         the headline number (the median for timings)
    stats         {"n", "median", "q1", "q3", "iqr", "p90", "p99", "min", "max", "mean"} or absent
    samples       the raw samples in measurement order, or absent
    labels        where it was measured: {"scale", "phase", "alpha", "batch_size", "devices", "rank", ...}
    params        the scenario's parameters (preset, variant, device, devices, overrides...)
    config_hash   sha256 of the resolved training config, or null
    seeds         {"run": int, ...} or {}
    ci            [low, high]: the confidence interval of ``value``, or absent
    flags         ["one-sample", "old-units", ...]
    meta          run metadata (see ``harness.records.machine.collect_meta``): device, versions, git, cpu, env, fingerprint
    time_start / time_end   ISO-8601 UTC
"""
from __future__ import annotations

import datetime as _dt
import json
import math
import secrets
import sys
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from pgan_ref.fileio import append_lines

from harness.errors import BadInput
from harness.records.schema import READABLE_SCHEMAS, SCHEMA_VERSION, Record

RECORDS_FILE = "records.jsonl"


class NumberList:
    """Field type of ``field_problem``: a list of numbers (None and NaN allowed)."""


NUMBER = (int, float)
# The fields every record has, and the types of the optional ones when present and not null.
REQUIRED_FIELDS = {"schema": int, "run_id": str, "scenario": str, "source": str, "metric": str, "unit": str,
                   "value": (*NUMBER, type(None)), "meta": dict}
OPTIONAL_FIELDS = {"labels": dict, "params": dict, "seeds": dict, "flags": list, "stats": dict,
                   "samples": NumberList, "ci": NumberList}


def _type_ok(value, kind) -> bool:
    if kind is NumberList:
        return isinstance(value, list) and all(v is None or isinstance(v, NUMBER) for v in value)
    return isinstance(value, kind)


def _type_name(kind) -> str:
    if kind is NumberList:
        return "a list of numbers"
    return " or ".join("null" if k is type(None) else k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))


def field_problem(data: dict, fields: dict, optional: dict | None = None) -> str | None:
    """Return the first field of ``data`` that is missing or of the wrong type (``optional`` ones may be absent
    or null), described as ``'key' is TYPE, expected TYPE``; None when all fit."""
    for key, kind in {**fields, **(optional or {})}.items():
        value = data.get(key)
        if (key not in fields and value is None) or _type_ok(value, kind):
            continue
        got = type(value).__name__ if key in data else "missing"
        return f"{key!r} is {got}, expected {_type_name(kind)}"
    return None


def record_problem(line: bytes) -> tuple[dict | None, str | None]:
    """Return (record, None) for a usable JSON line, else (None, why it is not one)."""
    try:
        rec = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError as e:
        return None, f"not UTF-8 ({e.reason} at byte {e.start})"
    except json.JSONDecodeError as e:
        return None, f"not JSON ({e})"
    if not isinstance(rec, dict):
        return None, f"a JSON {type(rec).__name__}, not a record object"
    problem = field_problem(rec, REQUIRED_FIELDS, OPTIONAL_FIELDS)
    if problem is None and rec["schema"] not in READABLE_SCHEMAS:
        newer = "newer than this pgan-harness (upgrade it)" if rec["schema"] > SCHEMA_VERSION else "unknown"
        problem = f"schema {rec['schema']} is {newer}; readable: {', '.join(map(str, READABLE_SCHEMAS))}"
    return (None, problem) if problem else (rec, None)


def utc_now() -> str:
    """Return the current UTC time as an ISO-8601 string with microseconds."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="microseconds")


def new_run_id() -> str:
    """Return a fresh, sortable run id (UTC timestamp + random suffix)."""
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def summarize(samples: Iterable[float]) -> dict:
    """Return the standard summary statistics (median, IQR, p90, p99...) of finite samples."""
    a = np.asarray([s for s in samples if s is not None and math.isfinite(s)], dtype=np.float64)
    if a.size == 0:
        return {"n": 0}
    q1, med, q3, p90, p99 = np.percentile(a, [25, 50, 75, 90, 99])
    return {"n": int(a.size), "median": float(med), "q1": float(q1), "q3": float(q3),
            "iqr": float(q3 - q1), "p90": float(p90), "p99": float(p99),
            "min": float(a.min()), "max": float(a.max()), "mean": float(a.mean())}


def make_record(*, run_id: str, scenario: str, metric: str, unit: str, value: float, meta: dict,
                source: str = "harness", samples: Iterable[float] | None = None, labels: dict | None = None,
                params: dict | None = None, config_hash: str | None = None, seeds: dict | None = None,
                flags: Iterable[str] = (), time_start: str | None = None, time_end: str | None = None,
                ci: tuple[float, float] | None = None) -> dict:
    """Return one record as stored; ``stats`` are computed from ``samples`` when there are any, ``ci`` kept if given."""
    samples = None if samples is None else tuple(float(s) for s in samples)
    return Record(run_id=run_id, scenario=scenario, source=source, metric=metric, unit=unit,
                  value=None if value is None else float(value), meta=meta, samples=samples,
                  stats=None if samples is None else summarize(samples), labels=labels or {}, params=params or {},
                  ci=None if ci is None else (float(ci[0]), float(ci[1])), flags=tuple(flags),
                  config_hash=config_hash, seeds=seeds or {}, time_start=time_start or utc_now(),
                  time_end=time_end or utc_now()).to_dict()


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def append_jsonl(path: str | Path, rows: Iterable[dict]) -> int:
    """Append rows as JSON lines with one O_APPEND write per row and fsync; return the count.

    A process killed mid-way leaves every earlier row intact; a torn last line is skipped on read.
    """
    return append_lines(path, (json.dumps(row, default=_json_default, allow_nan=True) for row in rows))


class RecordStore:
    """The results store of one output directory: ``records.jsonl`` plus per-run event logs."""

    def __init__(self, out_dir: str | Path):
        self.dir = Path(out_dir)
        self.path = self.dir / RECORDS_FILE

    def append(self, records: Iterable[dict]) -> int:
        """Append records durably; return how many were written."""
        return append_jsonl(self.path, records)

    def read(self) -> list[dict]:
        """Return every complete record (torn or corrupt lines are skipped and counted in ``self.skipped``)."""
        return list(self.iter())

    def iter(self) -> Iterator[dict]:
        """Yield every usable record in file order; skipped lines are counted and reported in one stderr line."""
        self.skipped = 0
        if not self.path.exists():
            return
        first = None
        try:
            with open(self.path, "rb") as f:
                for number, line in enumerate(f, start=1):
                    if not line.strip():
                        continue
                    rec, problem = record_problem(line)
                    if rec is not None:
                        yield rec
                        continue
                    self.skipped += 1
                    first = first or f"line {number}: {problem}"
        except OSError as e:
            raise BadInput(f"{self.path}: cannot read ({e.strerror or e})") from None
        if self.skipped:
            print(f"warning: {self.path}: skipped {self.skipped} unusable line(s) (first: {first})", file=sys.stderr)


def read_records(paths: Iterable[str | Path]) -> list[dict]:
    """Return the records of several result directories or ``records.jsonl`` files."""
    out: list[dict] = []
    for p in paths:
        p = Path(p)
        out.extend(RecordStore(p.parent if p.suffix == ".jsonl" else p).read())
    return out
