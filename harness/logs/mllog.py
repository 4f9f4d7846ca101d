"""MLPerf-style structured event log: key names, a ``:::MLLOG`` line writer, and its compliance checker.

A line is ``:::MLLOG `` followed by one JSON object::

    {"namespace": "", "time_ms": int, "event_type": "POINT_IN_TIME" | "INTERVAL_START" | "INTERVAL_END",
     "key": str, "value": any, "metadata": {"file": str, "lineno": int, ...}}

Other lines in the file (program output) are allowed and skipped by the checker, as in mlcommons/logging.
"""
from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from pgan_ref.fileio import append_lines

PREFIX = ":::MLLOG "

POINT_IN_TIME = "POINT_IN_TIME"
INTERVAL_START = "INTERVAL_START"
INTERVAL_END = "INTERVAL_END"
EVENT_TYPES = (POINT_IN_TIME, INTERVAL_START, INTERVAL_END)

# Keys (MLPerf names): the ones the harness emits and the ones the checker's rules read; others only warn.
RUN_START = "run_start"
RUN_STOP = "run_stop"
SEED = "seed"
SCALE_START = "scale_start"
SCALE_STOP = "scale_stop"
KNOWN_KEYS = frozenset({RUN_START, RUN_STOP, SEED, SCALE_START, SCALE_STOP})

# Metadata keys and values.
STATUS = "status"
STATUS_SUCCESS = "success"
STATUS_ABORTED = "aborted"
SCALE = "scale"

ERROR = "error"
WARNING = "warning"


def events_path(out_dir: str | Path, run_id: str) -> Path:
    """Return the event-log path of run ``run_id`` under ``out_dir``: ``{out}/events-{run_id}.log``."""
    return Path(out_dir) / f"events-{run_id}.log"


def _jsonable(o):
    return o.item() if hasattr(o, "item") else str(o)


class MLLogger:
    """Append ``:::MLLOG`` lines to one file, each flushed and fsynced; time_ms never goes backwards."""

    def __init__(self, path: str | Path, namespace: str = ""):
        self.path = Path(path)
        self.namespace = namespace
        self._last_ms = 0

    def event(self, key: str, value=None, metadata: dict | None = None, event_type: str = POINT_IN_TIME,
              stack_offset: int = 1) -> dict:
        """Write one event (caller's file and line in metadata); return the logged object."""
        caller = sys._getframe(stack_offset)
        self._last_ms = max(self._last_ms, int(time.time() * 1000))
        obj = {"namespace": self.namespace, "time_ms": self._last_ms, "event_type": event_type, "key": key,
               "value": value, "metadata": {"file": os.path.basename(caller.f_code.co_filename),
                                            "lineno": caller.f_lineno, **(metadata or {})}}
        append_lines(self.path, [PREFIX + json.dumps(obj, default=_jsonable)])
        return obj

    def start(self, key: str, value=None, metadata: dict | None = None) -> dict:
        """Write an INTERVAL_START event."""
        return self.event(key, value, metadata, INTERVAL_START, stack_offset=2)

    def end(self, key: str, value=None, metadata: dict | None = None) -> dict:
        """Write an INTERVAL_END event."""
        return self.event(key, value, metadata, INTERVAL_END, stack_offset=2)


@dataclass(frozen=True)
class Problem:
    """One finding of the checker: where (line number, 0 for the whole file), how bad, what."""

    lineno: int
    severity: str
    message: str

    def __str__(self) -> str:
        return f"{self.lineno}: {self.severity}: {self.message}"


@dataclass(frozen=True)
class Event:
    """One parsed ``:::MLLOG`` line."""

    lineno: int
    key: str
    event_type: str
    time_ms: int
    value: object
    metadata: dict


_FIELD_TYPES = (("time_ms", int), ("event_type", str), ("key", str), ("metadata", dict))


def _parse_line(lineno: int, payload: str) -> Event | Problem:
    try:
        obj = json.loads(payload)
    except json.JSONDecodeError as e:
        return Problem(lineno, ERROR, f"invalid JSON: {e.msg}")
    if not isinstance(obj, dict):
        return Problem(lineno, ERROR, "payload is not a JSON object")
    for name, typ in _FIELD_TYPES:
        if not isinstance(obj.get(name), typ) or isinstance(obj.get(name), bool):
            return Problem(lineno, ERROR, f"field {name!r} missing or not {typ.__name__}")
    if obj["event_type"] not in EVENT_TYPES:
        return Problem(lineno, ERROR, f"unknown event_type {obj['event_type']!r}")
    return Event(lineno, obj["key"], obj["event_type"], obj["time_ms"], obj.get("value"), obj["metadata"])


def _rule_run_start(events: list[Event]):
    starts = [e for e in events if e.key == RUN_START]
    if len(starts) != 1:
        yield Problem(starts[1].lineno if starts else 0, ERROR, f"{len(starts)} run_start events, want exactly 1")
    elif events[0].key != RUN_START:
        yield Problem(starts[0].lineno, ERROR, "run_start is not the first event")


def _rule_run_stop(events: list[Event]):
    stops = [e for e in events if e.key == RUN_STOP]
    if len(stops) != 1:
        yield Problem(stops[1].lineno if stops else 0, ERROR, f"{len(stops)} run_stop events, want exactly 1")
        return
    if events[-1].key != RUN_STOP:
        yield Problem(stops[0].lineno, ERROR, "run_stop is not the last event")
    status = stops[0].metadata.get(STATUS)
    if status not in (STATUS_SUCCESS, STATUS_ABORTED):
        yield Problem(stops[0].lineno, ERROR, f"run_stop metadata status is {status!r}, want success|aborted")


def _rule_seed(events: list[Event]):
    stop = next((i for i, e in enumerate(events) if e.key == RUN_STOP), len(events))
    if not any(e.key == SEED for e in events[:stop]):
        yield Problem(0, ERROR, "no seed event before run_stop")


def _rule_scales(events: list[Event]):
    open_scales: dict = {}
    for e in events:
        if e.key not in (SCALE_START, SCALE_STOP):
            continue
        scale = e.metadata.get(SCALE)
        if scale is None:
            yield Problem(e.lineno, ERROR, f"{e.key} without metadata scale")
        elif e.key == SCALE_START:
            if scale in open_scales:
                yield Problem(e.lineno, ERROR, f"scale_start {scale} while scale {scale} is already open")
            open_scales[scale] = e.lineno
        elif open_scales.pop(scale, None) is None:
            yield Problem(e.lineno, ERROR, f"scale_stop {scale} without a scale_start")
    for scale, lineno in open_scales.items():
        yield Problem(lineno, ERROR, f"scale_start {scale} never stopped")


def _rule_time(events: list[Event]):
    for prev, e in zip(events, events[1:]):
        if e.time_ms < prev.time_ms:
            yield Problem(e.lineno, ERROR, f"time_ms goes backwards ({e.time_ms} < {prev.time_ms})")


def _rule_known_keys(events: list[Event]):
    for e in events:
        if e.key not in KNOWN_KEYS:
            yield Problem(e.lineno, WARNING, f"unknown key {e.key!r}")


RULES = (_rule_run_start, _rule_run_stop, _rule_seed, _rule_scales, _rule_time, _rule_known_keys)


def check_lines(lines) -> list[Problem]:
    """Return the problems of an event log given as lines (non-``:::MLLOG`` lines are skipped)."""
    events, problems = [], []
    for lineno, line in enumerate(lines, 1):
        if line.startswith(PREFIX.rstrip()):
            parsed = _parse_line(lineno, line[len(PREFIX.rstrip()):])
            (events if isinstance(parsed, Event) else problems).append(parsed)
    if not events:
        return problems + [Problem(0, ERROR, "no :::MLLOG events")]
    for rule in RULES:
        problems.extend(rule(events))
    return sorted(problems, key=lambda p: p.lineno)


def check_log(path: str | Path) -> list[Problem]:
    """Return the problems of the event log at ``path``; raise OSError/UnicodeDecodeError if unreadable."""
    return check_lines(Path(path).read_text(encoding="utf-8").splitlines())


def is_valid(problems: list[Problem]) -> bool:
    """Return True when no problem is an error (warnings allowed)."""
    return all(p.severity != ERROR for p in problems)
