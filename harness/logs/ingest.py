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
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

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

_NUM = r"[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|nan|inf)"
_TENSOR = re.compile(r"^Tensor\(shape=\[[^\]]*\],\s*dtype=\w+,\s*value=(.*)\)$", re.S)


class Malformed(ValueError):
    """A field of a recognised line that does not parse; ``args[0]`` is the reason (number, time...)."""


def _unwrap(text: str) -> str:
    m = _TENSOR.match(text.strip())
    return (m.group(1) if m else text).strip().strip("[]").strip()


def parse_scalar(text: str) -> float:
    """Return the number printed as ``x``, ``[x]``, ``[[x]]`` or ``Tensor(..., value= x)``."""
    inner = _unwrap(text)
    if not re.fullmatch(_NUM, inner, re.I):
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


@dataclass
class _State:
    """What the handlers accumulate while reading one log."""

    scale: int | None = None
    segment: int = 0
    last_step: int | None = None
    dataset_size: dict = field(default_factory=dict)
    train: list = field(default_factory=list)
    timing: list = field(default_factory=list)
    gan_zoo: list = field(default_factory=list)
    infer: list = field(default_factory=list)

    def new_segment(self, scale: int | None) -> None:
        """Start a new group of lines (a new scale, or a restart of the step counter)."""
        self.segment += 1
        self.scale = scale
        self.last_step = None

    def step(self, step: int, scale: int) -> None:
        """Note a step counter value; start a new segment when the scale changes or the counter resets."""
        if scale != self.scale or (self.last_step is not None and step <= self.last_step):
            self.new_segment(scale)
        self.last_step = step


@dataclass(frozen=True)
class _Train:
    segment: int
    scale: int | None
    batch: int
    alpha: float
    loss_g: float
    loss_d: float
    overflow: bool
    time: _dt.datetime


@dataclass(frozen=True)
class _Timing:
    segment: int
    scale: int | None
    metric: str
    timer: str
    value: float  # seconds, except timer "old-monitor": the raw printed number


@dataclass(frozen=True)
class _ZooPoint:
    segment: int
    index: int
    iter: int
    loss_g: float
    loss_d: float


def _on_scale(st: _State, m: re.Match) -> None:
    st.new_segment(_int(m["scale"]))


def _on_dataset_size(st: _State, m: re.Match) -> None:
    st.dataset_size[st.segment] = _int(m["n"])


def _on_train(st: _State, m: re.Match) -> None:
    batch = _int(m["batch"])
    values = (parse_scalar(m["alpha"]), parse_scalar(m["g"]), parse_scalar(m["d"]), parse_bool(m["overflow"]))
    try:
        when = _dt.datetime.strptime(m["time"].strip(), TRAIN_TIME_FORMAT)
    except ValueError:
        raise Malformed("time") from None
    if st.last_step is not None and batch <= st.last_step:
        st.new_segment(None)  # the counter restarted without a Scale line: scale unknown
    st.last_step = batch
    st.train.append(_Train(st.segment, st.scale, batch, *values, when))


def _on_intermediate(st: _State, m: re.Match) -> None:
    compute, loader = parse_scalar(m["x"]) / 1000, parse_scalar(m["y"]) / 1000
    st.timing += [_Timing(st.segment, st.scale, "step_time", "monitor-compute", compute),
                  _Timing(st.segment, st.scale, "data_time", "monitor-compute", loader)]


def _on_epoch(st: _State, m: re.Match) -> None:
    st.timing.append(_Timing(st.segment, st.scale, "step_time", "monitor-epoch", parse_scalar(m["t"]) / 1000))


def _on_old_monitor(st: _State, m: re.Match) -> None:
    st.timing.append(_Timing(st.segment, st.scale, "step_time", "old-monitor", parse_scalar(m["x"])))


def _on_gan_zoo(st: _State, m: re.Match) -> None:
    index, it = _int(m["scale"]), _int(m["iter"])
    g, d = parse_scalar(m["g"]), parse_scalar(m["d"])
    st.step(it, index)
    st.gan_zoo.append(_ZooPoint(st.segment, index, it, g, d))


def _on_infer(st: _State, m: re.Match) -> None:
    st.infer.append((parse_scalar(m["ms"]), _int(m["n"])))


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


@dataclass(frozen=True)
class Series:
    """Samples of one metric under one set of labels, before they become a record."""

    metric: str
    unit: str
    samples: list | None
    labels: dict
    flags: tuple = ()
    value: float | None = None


def _groups(items: Iterable, key: Callable) -> dict:
    out: dict = defaultdict(list)
    for item in items:
        out[key(item)].append(item)
    return out


def _median(samples: list) -> float | None:
    return summarize(samples).get("median")


def _timestamp_step_times(points: list[_Train]) -> tuple[list[float], list[int]]:
    times, steps = [], []
    for a, b in zip(points, points[1:]):
        dt, db = (b.time - a.time).total_seconds(), b.batch - a.batch
        if db > 0 and dt >= 0:
            times.append(dt / db)
            steps.append(b.batch)
    return times, steps


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


def _modelzoo_series(st: _State, units: str) -> list[Series]:
    out, ts_median = [], {}

    def base(seg: int, scale: int | None) -> dict:
        return {"scale": scale, "segment": seg, "dataset_size": st.dataset_size.get(seg)}

    for (seg, scale), pts in _groups(st.train, lambda p: (p.segment, p.scale)).items():
        losses = {**base(seg, scale), "steps": [p.batch for p in pts], "alpha_first": pts[0].alpha,
                  "alpha_last": pts[-1].alpha, "overflow_steps": [p.batch for p in pts if p.overflow],
                  "sampling": LOSS_SAMPLING}
        out += [Series("loss_g", "1", [p.loss_g for p in pts], losses, ("single-step-values",)),
                Series("loss_d", "1", [p.loss_d for p in pts], losses, ("single-step-values",))]
        times, steps = _timestamp_step_times(pts)
        if times:
            ts_median[seg] = _median(times)
            out.append(Series("step_time", "s", times, {**base(seg, scale), "timer": "log-timestamps", "steps": steps},
                              ("from-log-timestamps",)))
    for (seg, scale, metric, timer), pts in _groups(
            st.timing, lambda t: (t.segment, t.scale, t.metric, t.timer)).items():
        values = [t.value for t in pts]
        factor, flags = (_old_units(_median(values), ts_median.get(seg), units) if timer == "old-monitor"
                         else (1.0, ()))
        out.append(Series(metric, "s", [v * factor for v in values],
                          {**base(seg, scale), "timer": timer}, ("first-sample-includes-compile", *flags)))
    return out


def _gan_zoo_series(st: _State, units: str) -> list[Series]:
    out = []
    for (seg, index), pts in _groups(st.gan_zoo, lambda p: (p.segment, p.index)).items():
        labels = {"scale_index": index, "scale": 4 * 2 ** index, "segment": seg, "steps": [p.iter for p in pts],
                  "sampling": "running mean over the last 100 iterations"}
        out += [Series("loss_g", "1", [p.loss_g for p in pts], labels, ("running-mean-100",)),
                Series("loss_d", "1", [p.loss_d for p in pts], labels, ("running-mean-100",))]
    return out


def _infer_series(st: _State, units: str) -> list[Series]:
    return [Series("latency", "ms", None, {"infer_count": n, "runtime": "ascend310-modelzoo"},
                   ("no-warm-up", "one-sample") if n == 1 else ("no-warm-up",), value=ms)
            for ms, n in st.infer]


SERIES_BUILDERS = {"modelzoo": _modelzoo_series, "pytorch-gan-zoo": _gan_zoo_series,
                   "modelzoo-310": _infer_series}


@dataclass
class IngestResult:
    """What reading one log gave: records, line count, malformed line numbers by kind, ignored count."""

    records: list
    lines: int
    malformed: dict
    ignored: int
    format: str | None = None

    def summary(self, name: str = "log") -> str:
        """Return a human-readable summary (lines, records, malformed by kind with example line numbers)."""
        head = (f"{name}: format {self.format or 'unrecognised'}, {self.lines} lines, {len(self.records)} "
                f"records, {sum(map(len, self.malformed.values()))} malformed, {self.ignored} ignored")
        return "\n".join([head] + [f"  malformed {kind}: {len(nos)} (lines {', '.join(map(str, nos[:EXAMPLES]))})"
                                   for kind, nos in sorted(self.malformed.items())])


def detect_format(lines: Iterable[str]) -> str | None:
    """Return the format whose line kinds claim the most lines, or None when no line is recognised."""
    counts = dict.fromkeys(FORMATS, 0)
    for line in lines:
        kind = _claim(line.strip(), LINE_KINDS)
        if kind:
            counts[kind.fmt] += 1
    best = max(FORMATS, key=counts.__getitem__)
    return best if counts[best] else None


def _claim(line: str, kinds: Iterable[LineKind]) -> LineKind | None:
    return next((k for k in kinds if k.start.search(line)), None)


def _is_file(text: str) -> bool:
    try:
        return "\n" not in text and Path(text).is_file()
    except (OSError, ValueError):  # too long for a file name, or a NUL byte
        return False


def _read(text_or_path: str | Path) -> tuple[str, str]:
    """Return (name, text): a Path or a string naming an existing file is read, anything else is text."""
    if isinstance(text_or_path, Path) or _is_file(text_or_path):
        return str(text_or_path), Path(text_or_path).read_text(encoding="utf-8", errors="replace")
    return "<text>", text_or_path


def parse_log(text_or_path: str | Path, fmt: str = "auto", *, units: str = "auto", batch_size: int | None = None,
              devices: int = 1, device: str = "unknown", run_id: str | None = None,
              meta: dict | None = None) -> IngestResult:
    """Return the records, malformed lines and ignored-line count of one log (text, or a path to read)."""
    if fmt != "auto" and fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; known: auto, {', '.join(FORMATS)}")
    if units not in UNITS:
        raise ValueError(f"unknown units {units!r}; known: {', '.join(UNITS)}")
    name, text = _read(text_or_path)
    lines = [line.strip() for line in text.splitlines()]
    fmt = detect_format(lines) if fmt == "auto" else fmt
    if fmt is None:
        return IngestResult([], len(lines), {}, len(lines))
    kinds = [k for k in LINE_KINDS if k.fmt == fmt]
    st, malformed, ignored = _State(), defaultdict(list), 0
    for lineno, line in enumerate(lines, 1):
        kind = _claim(line, kinds)
        match = kind and kind.full.search(line)
        if kind is None:
            ignored += 1
        elif not match:
            malformed[f"{kind.name}/shape"].append(lineno)
        else:
            try:
                kind.handle(st, match)
            except Malformed as e:
                malformed[f"{kind.name}/{e.args[0]}"].append(lineno)
    batch_size = batch_size or DEFAULT_BATCH_SIZE[fmt]
    params = {"log": name, "log_sha256": hashlib.sha256(text.encode()).hexdigest(), "format": fmt,
              "units": units, "batch_size": batch_size, "devices": devices, "device": device}
    meta = collect_meta(device=device, device_count=devices) if meta is None else meta
    run_id = run_id or new_run_id()
    records = [make_record(run_id=run_id, scenario="ingest", source=SOURCES[fmt], metric=s.metric, unit=s.unit,
                           value=_median(s.samples) if s.value is None else s.value, meta=meta,
                           samples=s.samples, labels={**s.labels, "batch_size": batch_size, "devices": devices},
                           params=params, flags=s.flags)
               for s in SERIES_BUILDERS[fmt](st, units)]
    return IngestResult(records, len(lines), dict(malformed), ignored, fmt)
