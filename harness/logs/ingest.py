"""Read real PGAN logs (ModelZoo train + timing monitor, ModelZoo 310, pytorch_GAN_zoo) into records.

Line formats (spec pgan.md §7); each line kind is one row of ``LINE_KINDS`` (start pattern, full pattern,
handler). A line matching a kind's start but not its full pattern, or whose fields do not parse, is
*malformed* (counted by ``kind/reason`` with line numbers, never fatal); a line matching no start pattern
is other program output and only counted as *ignored*.

ModelZoo (source ``modelzoo-log``), grouped per scale segment (``Scale {s}`` starts one; a ``batch_i``
that does not increase starts one with an unknown scale):

- ``batch_i:{i} alpha:{a} loss G:{g} loss D:{d} overflow:{o},time:{%Y-%m-%d %H:%M:%S.%f}`` every 100
  steps; values may print as ``x``, ``[x]``, ``[[x]]`` or ``Tensor(shape=[], dtype=Float32, value= x)``.
  -> ``loss_g``/``loss_d`` (single-step values) and ``step_time`` from consecutive timestamps
  (delta time / delta batch_i: includes data loading, logging and checkpoint saves).
- ``Intermediate: epoch E step S, per_step_time X ms, (not including the data loader time per step Y ms)``.
  In the ModelZoo's TimeMonitor X is timed from step start to step end (the data loader is *excluded*)
  and Y is the data-loader time itself (from the end of one step to the start of the next), so
  -> ``step_time`` = X (timer ``monitor-compute``) and ``data_time`` = Y.
- ``epoch E time: T ms, per step time: t ms`` -> ``step_time`` = t (timer ``monitor-epoch``: wall clock
  of the epoch over its steps, data loading included).
- ``... per step time is X ms`` (monitor before 2022-04): the value is really seconds. Units are decided
  per segment: ``units="old"`` -> seconds, ``"new"`` -> milliseconds; ``"auto"`` compares X with the
  step time from the segment's log timestamps (the closer of X s and X ms wins, flag
  ``units-from-log-timestamps``), and without timestamps takes X < 10 as seconds (flag ``units-guessed``:
  a PGAN step is 0.01-2 s on an accelerator, so 10 "ms" or more is read as real milliseconds).
  Seconds readings carry the flag ``old-units-ms-label-is-seconds``.

pytorch_GAN_zoo (``pytorch-gan-zoo-log``): ``[{scale} : {iter:6d}] loss G : {g} loss D : {d}``, 100-iteration
running means; ``scale`` is the scale index (resolution 4 * 2**index).

ModelZoo 310 (``modelzoo-310``): ``NN inference cost average time: {ms} ms of infer_count {n}`` -> one
``latency`` record in ms; the program never warms up, and with n == 1 it is a single cold call.

Every series becomes one record whose ``value`` is the median of ``samples`` (310: the printed average).

Logs are streamed: a file is read line by line (lines end at ``\n``, ``\r\n`` or ``\r``), once to detect the format
(unless given) and once to parse it, and a segment's records are yielded as soon as the segment ends. Memory does
not grow with the log's length, only with the samples of one segment (about 40 bytes per batch_i line).
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import io
import math
import re
from array import array
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, TextIO

import numpy as np

from pgan_ref.fileio import sha256_file

from harness.judge.modelcard import CARD_LOG_EVERY
from harness.records.machine import collect_meta
from harness.records.store import make_record, new_run_id, summarize

SOURCES = {"modelzoo": "modelzoo-log", "pytorch-gan-zoo": "pytorch-gan-zoo-log", "modelzoo-310": "modelzoo-310"}
FORMATS = tuple(SOURCES)
DEFAULT_BATCH_SIZE = {"modelzoo": 16, "pytorch-gan-zoo": 16, "modelzoo-310": 64}
UNITS = ("auto", "old", "new")
OLD_UNITS_MAX_SECONDS = 10.0
TRAIN_TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
LOSS_SAMPLING = f"every {CARD_LOG_EVERY} steps, single-step values"
EXAMPLES = 3

_NUM = re.compile(r"[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|nan|inf)", re.I)
_TENSOR = re.compile(r"^Tensor\(shape=\[[^\]]*\],\s*dtype=\w+,\s*value=(.*)\)$", re.S)
# TRAIN_TIME_FORMAT as the ModelZoo prints it (zero-padded): parsed without strptime, which is 5x slower.
_TRAIN_TIME = re.compile(r"(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{1,6})")
_EPOCH, _MICROSECOND = _dt.datetime(1970, 1, 1), _dt.timedelta(microseconds=1)


class Malformed(ValueError):
    """A field of a recognised line that does not parse; ``args[0]`` is the reason (number, time...)."""


def _unwrap(text: str) -> str:
    m = _TENSOR.match(text.strip())
    return (m.group(1) if m else text).strip().strip("[]").strip()


def parse_scalar(text: str) -> float:
    """Return the number printed as ``x``, ``[x]``, ``[[x]]`` or ``Tensor(..., value= x)``."""
    inner = _unwrap(text)
    if not _NUM.fullmatch(inner):
        raise Malformed("number")
    return float(inner)


def parse_bool(text: str) -> bool:
    """Return the boolean printed as ``True``, ``[False]`` or ``Tensor(..., value= False)``."""
    try:
        return {"True": True, "False": False}[_unwrap(text)]
    except KeyError:
        raise Malformed("bool") from None


def _int(text: str) -> int:
    if not text.isdigit():
        raise Malformed("number")
    return int(text)


def _micros(text: str) -> int:
    """Return a time printed in ``TRAIN_TIME_FORMAT`` as microseconds since 1970 (as printed, no time zone)."""
    m = _TRAIN_TIME.fullmatch(text)
    try:
        when = (_dt.datetime(*map(int, m.groups()[:6]), int(m[7].ljust(6, "0"))) if m
                else _dt.datetime.strptime(text, TRAIN_TIME_FORMAT))
    except ValueError:
        raise Malformed("time") from None
    return (when - _EPOCH) // _MICROSECOND


@dataclass
class _Segment:
    """One group of lines (a scale, or a run of the step counter) as compact columns, until its records are built.

    ModelZoo batch_i lines and pytorch_GAN_zoo lines fill ``steps`` / ``loss_g`` / ``loss_d`` (for pytorch_GAN_zoo
    ``scale`` is the scale index); ``micros``, the alphas and ``overflow_steps`` are ModelZoo's.
    """

    number: int
    scale: int | None
    dataset_size: int | None = None
    steps: array = field(default_factory=lambda: array("q"))
    loss_g: array = field(default_factory=lambda: array("d"))
    loss_d: array = field(default_factory=lambda: array("d"))
    micros: array = field(default_factory=lambda: array("q"))
    alpha_first: float | None = None
    alpha_last: float | None = None
    overflow_steps: list = field(default_factory=list)
    timing: dict = field(default_factory=dict)  # (metric, timer) -> array of seconds (old-monitor: as printed)
    infer: list = field(default_factory=list)  # (ms, infer_count)

    def add_losses(self, step: int, loss_g: float, loss_d: float) -> None:
        """Append one logged step's losses."""
        self.steps.append(step)
        self.loss_g.append(loss_g)
        self.loss_d.append(loss_d)

    def add_timing(self, metric: str, timer: str, value: float) -> None:
        """Append one monitor reading."""
        self.timing.setdefault((metric, timer), array("d")).append(value)


class _State:
    """What the handlers accumulate while reading one log: the open segment and the finished ones."""

    def __init__(self):
        self.segment, self.last_step, self.done = _Segment(0, None), None, []

    def new_segment(self, scale: int | None) -> None:
        """Finish the open segment and start another (a new scale, or a restart of the step counter)."""
        self.done.append(self.segment)
        self.segment, self.last_step = _Segment(self.segment.number + 1, scale), None

    def step(self, step: int, scale: int) -> None:
        """Note a step counter value; start a new segment when the scale changes or the counter resets."""
        if scale != self.segment.scale or (self.last_step is not None and step <= self.last_step):
            self.new_segment(scale)
        self.last_step = step


def _on_scale(st: _State, m: re.Match) -> None:
    st.new_segment(_int(m["scale"]))


def _on_dataset_size(st: _State, m: re.Match) -> None:
    st.segment.dataset_size = _int(m["n"])


def _on_train(st: _State, m: re.Match) -> None:
    batch = _int(m["batch"])
    alpha, g, d, overflow = (parse_scalar(m["alpha"]), parse_scalar(m["g"]), parse_scalar(m["d"]),
                             parse_bool(m["overflow"]))
    micros = _micros(m["time"].strip())
    if st.last_step is not None and batch <= st.last_step:
        st.new_segment(None)  # the counter restarted without a Scale line: scale unknown
    st.last_step = batch
    seg = st.segment
    seg.add_losses(batch, g, d)
    seg.micros.append(micros)
    seg.alpha_first = alpha if seg.alpha_first is None else seg.alpha_first
    seg.alpha_last = alpha
    if overflow:
        seg.overflow_steps.append(batch)


def _on_intermediate(st: _State, m: re.Match) -> None:
    compute, loader = parse_scalar(m["x"]) / 1000, parse_scalar(m["y"]) / 1000
    st.segment.add_timing("step_time", "monitor-compute", compute)
    st.segment.add_timing("data_time", "monitor-compute", loader)


def _on_epoch(st: _State, m: re.Match) -> None:
    st.segment.add_timing("step_time", "monitor-epoch", parse_scalar(m["t"]) / 1000)


def _on_old_monitor(st: _State, m: re.Match) -> None:
    st.segment.add_timing("step_time", "old-monitor", parse_scalar(m["x"]))


def _on_gan_zoo(st: _State, m: re.Match) -> None:
    index, it = _int(m["scale"]), _int(m["iter"])
    g, d = parse_scalar(m["g"]), parse_scalar(m["d"])
    st.step(it, index)
    st.segment.add_losses(it, g, d)


def _on_infer(st: _State, m: re.Match) -> None:
    st.segment.infer.append((parse_scalar(m["ms"]), _int(m["n"])))


@dataclass(frozen=True)
class LineKind:
    """One recognised line shape: its format, the start that claims a line, the full pattern, the handler."""

    name: str
    fmt: str
    start: re.Pattern
    full: re.Pattern
    handle: Callable[[_State, re.Match], None]


def _kind(name: str, fmt: str, start: str, full: str, handle) -> LineKind:
    return LineKind(name, fmt, re.compile(start), re.compile(full), handle)


LINE_KINDS = (
    _kind("modelzoo-train", "modelzoo", r"^batch_i:",
          r"^batch_i:(?P<batch>\S+) alpha:(?P<alpha>.+?) loss G:(?P<g>.+?) loss D:(?P<d>.+?) "
          r"overflow:(?P<overflow>.+?),time:(?P<time>.+)$", _on_train),
    _kind("modelzoo-scale", "modelzoo", r"^Scale\b", r"^Scale (?P<scale>\S+)$", _on_scale),
    _kind("modelzoo-dataset-size", "modelzoo", r"^Dataset size\b", r"^Dataset size (?P<n>\S+)$",
          _on_dataset_size),
    _kind("modelzoo-intermediate", "modelzoo", r"^Intermediate: epoch",
          r"^Intermediate: epoch \d+ step \d+, per_step_time\s*(?P<x>\S+) ms, "
          r"\(not including the data loader time per step\s*(?P<y>\S+) ms\)$", _on_intermediate),
    _kind("modelzoo-epoch", "modelzoo", r"^epoch( \d+)? time:",
          r"^epoch( \d+)? time:\s*\S+ ms, per step time:\s*(?P<t>\S+) ms$", _on_epoch),
    _kind("modelzoo-old-monitor", "modelzoo", r"per step time is\b", r"per step time is\s*(?P<x>\S+) ms\b",
          _on_old_monitor),
    _kind("pytorch-gan-zoo", "pytorch-gan-zoo", r"^\[\s*\d+\s*:\s*\d",
          r"^\[\s*(?P<scale>\d+) :\s*(?P<iter>\d+)\] loss G : (?P<g>\S+) loss D : (?P<d>\S+)$", _on_gan_zoo),
    _kind("modelzoo-310", "modelzoo-310", r"^NN inference cost",
          r"^NN inference cost average time:\s*(?P<ms>\S+) ms of infer_count\s*(?P<n>\S+)$", _on_infer),
)


def _claimer(kinds: Iterable[LineKind]) -> Callable[[str], LineKind | None]:
    """Return line -> the first of ``kinds`` whose start pattern is found in it, or None; one regex match per line
    (each start becomes an alternative anchored at the line's start, the unanchored ones behind ``.*?``)."""
    kinds = list(kinds)
    pattern = re.compile("|".join(f"(?P<k{i}>{'' if k.start.pattern.startswith('^') else '.*?'}{k.start.pattern})"
                                  for i, k in enumerate(kinds)))

    def claim(line: str) -> LineKind | None:
        m = pattern.match(line)
        return kinds[int(m.lastgroup[1:])] if m else None

    return claim


@dataclass(frozen=True)
class Series:
    """Samples of one metric under one set of labels, before they become a record."""

    metric: str
    unit: str
    samples: Iterable | None
    labels: dict
    flags: tuple = ()
    value: float | None = None


def _median(samples: Iterable) -> float | None:
    return summarize(samples).get("median")


def _timestamp_step_times(seg: _Segment) -> tuple[np.ndarray, np.ndarray]:
    """Return (seconds per step, step) between consecutive batch_i lines whose time does not go back."""
    steps, micros = np.frombuffer(seg.steps, np.int64), np.frombuffer(seg.micros, np.int64)
    db, dt = np.diff(steps), np.diff(micros)
    keep = (db > 0) & (dt >= 0)
    return dt[keep] / 1e6 / db[keep], steps[1:][keep]


def _old_units(raw: float | None, reference: float | None, units: str) -> tuple[float, tuple]:
    """Return (factor to seconds, flags) for the old monitor's ``per step time is X ms``."""
    if units != "auto":
        seconds, why = units == "old", "units-from-user"
    elif raw and reference and raw > 0 and reference > 0:
        seconds = abs(math.log(raw / reference)) <= abs(math.log(raw / 1000 / reference))
        why = "units-from-log-timestamps"
    else:
        seconds, why = raw is not None and raw < OLD_UNITS_MAX_SECONDS, "units-guessed"
    return (1.0, ("old-units-ms-label-is-seconds", why)) if seconds else (1e-3, (why,))


def _modelzoo_series(seg: _Segment, units: str) -> list[Series]:
    out, ts_median = [], None
    base = {"scale": seg.scale, "segment": seg.number, "dataset_size": seg.dataset_size}
    if seg.steps:
        losses = {**base, "steps": seg.steps.tolist(), "alpha_first": seg.alpha_first, "alpha_last": seg.alpha_last,
                  "overflow_steps": seg.overflow_steps, "sampling": LOSS_SAMPLING}
        out += [Series("loss_g", "1", seg.loss_g, losses, ("single-step-values",)),
                Series("loss_d", "1", seg.loss_d, losses, ("single-step-values",))]
        times, steps = _timestamp_step_times(seg)
        if len(times):
            ts_median = _median(times)
            out.append(Series("step_time", "s", times, {**base, "timer": "log-timestamps", "steps": steps.tolist()},
                              ("from-log-timestamps",)))
    for (metric, timer), values in seg.timing.items():
        factor, flags = _old_units(_median(values), ts_median, units) if timer == "old-monitor" else (1.0, ())
        out.append(Series(metric, "s", [v * factor for v in values], {**base, "timer": timer},
                          ("first-sample-includes-compile", *flags)))
    return out


def _gan_zoo_series(seg: _Segment, units: str) -> list[Series]:
    if not seg.steps:
        return []
    labels = {"scale_index": seg.scale, "scale": 4 * 2 ** seg.scale, "segment": seg.number,
              "steps": seg.steps.tolist(), "sampling": "running mean over the last 100 iterations"}
    return [Series("loss_g", "1", seg.loss_g, labels, ("running-mean-100",)),
            Series("loss_d", "1", seg.loss_d, labels, ("running-mean-100",))]


def _infer_series(seg: _Segment, units: str) -> list[Series]:
    return [Series("latency", "ms", None, {"infer_count": n, "runtime": "ascend310-modelzoo"},
                   ("no-warm-up", "one-sample") if n == 1 else ("no-warm-up",), value=ms)
            for ms, n in seg.infer]


SERIES_BUILDERS = {"modelzoo": _modelzoo_series, "pytorch-gan-zoo": _gan_zoo_series,
                   "modelzoo-310": _infer_series}


@dataclass
class IngestResult:
    """What reading one log gave: records (kept by ``parse_log``; ``stream_log`` only counts them in ``count``),
    line count, malformed line numbers by kind, ignored count and format."""

    records: list = field(default_factory=list)
    lines: int = 0
    malformed: dict = field(default_factory=lambda: defaultdict(list))
    ignored: int = 0
    format: str | None = None
    count: int = 0

    def summary(self, name: str = "log") -> str:
        """Return a human-readable summary (lines, records, malformed by kind with example line numbers)."""
        head = (f"{name}: format {self.format or 'unrecognised'}, {self.lines} lines, {self.count} "
                f"records, {sum(map(len, self.malformed.values()))} malformed, {self.ignored} ignored")
        return "\n".join([head] + [f"  malformed {kind}: {len(nos)} (lines {', '.join(map(str, nos[:EXAMPLES]))})"
                                   for kind, nos in sorted(self.malformed.items())])


def detect_format(lines: Iterable[str]) -> str | None:
    """Return the format whose line kinds claim the most lines, or None when no line is recognised."""
    counts, claim = dict.fromkeys(FORMATS, 0), _claimer(LINE_KINDS)
    for line in lines:
        kind = claim(line.strip())
        if kind:
            counts[kind.fmt] += 1
    best = max(FORMATS, key=counts.__getitem__)
    return best if counts[best] else None


def _is_file(text: str) -> bool:
    try:
        return "\n" not in text and Path(text).is_file()
    except (OSError, ValueError):  # too long for a file name, or a NUL byte
        return False


def _source(text_or_path: str | Path) -> tuple[str, Callable[[], TextIO], str]:
    """Return (name, a function opening the log's text anew, sha256 of its bytes): a Path or a string naming an
    existing file is a file (OSError when it cannot be read), anything else is the log's text."""
    if isinstance(text_or_path, Path) or _is_file(text_or_path):
        path = Path(text_or_path)
        return (str(text_or_path), lambda: open(path, encoding="utf-8", errors="replace", newline=None),
                sha256_file(path))
    return ("<text>", lambda: io.StringIO(text_or_path, newline=None),
            hashlib.sha256(text_or_path.encode()).hexdigest())


def stream_log(text_or_path: str | Path, fmt: str = "auto", *, units: str = "auto", batch_size: int | None = None,
               devices: int = 1, device: str = "unknown", run_id: str | None = None, meta: dict | None = None,
               result: IngestResult | None = None) -> Iterator[dict]:
    """Yield the records of one log (text, or a path to read) segment by segment as the log is read; its line,
    malformed and ignored counts, format and record count go to ``result``."""
    if fmt != "auto" and fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; known: auto, {', '.join(FORMATS)}")
    if units not in UNITS:
        raise ValueError(f"unknown units {units!r}; known: {', '.join(UNITS)}")
    result = IngestResult() if result is None else result
    name, open_text, sha256 = _source(text_or_path)
    if fmt == "auto":
        with open_text() as f:
            fmt = detect_format(f)
    if fmt is None:
        with open_text() as f:
            result.lines = result.ignored = sum(1 for _ in f)
        return
    result.format, batch_size = fmt, batch_size or DEFAULT_BATCH_SIZE[fmt]
    params = {"log": name, "log_sha256": sha256, "format": fmt, "units": units, "batch_size": batch_size,
              "devices": devices, "device": device}
    meta = collect_meta(device=device, device_count=devices) if meta is None else meta
    run_id = run_id or new_run_id()

    def records(segments: list[_Segment]) -> Iterator[dict]:
        for seg in segments:
            for s in SERIES_BUILDERS[fmt](seg, units):
                result.count += 1
                yield make_record(run_id=run_id, scenario="ingest", source=SOURCES[fmt], metric=s.metric,
                                  unit=s.unit, value=_median(s.samples) if s.value is None else s.value, meta=meta,
                                  samples=s.samples, labels={**s.labels, "batch_size": batch_size, "devices": devices},
                                  params=params, flags=s.flags)
        segments.clear()

    claim, st = _claimer(k for k in LINE_KINDS if k.fmt == fmt), _State()
    with open_text() as f:
        for result.lines, line in enumerate(f, 1):
            line = line.strip()
            kind = claim(line)
            match = kind and kind.full.search(line)
            if kind is None:
                result.ignored += 1
            elif not match:
                result.malformed[f"{kind.name}/shape"].append(result.lines)
            else:
                try:
                    kind.handle(st, match)
                except Malformed as e:
                    result.malformed[f"{kind.name}/{e.args[0]}"].append(result.lines)
            if st.done:
                yield from records(st.done)
    st.done.append(st.segment)
    yield from records(st.done)


def parse_log(text_or_path: str | Path, fmt: str = "auto", **options) -> IngestResult:
    """Return the records, malformed lines and ignored-line count of one log (text, or a path to read); the
    ``options`` are ``stream_log``'s."""
    result = IngestResult()
    result.records = list(stream_log(text_or_path, fmt, result=result, **options))
    return result
