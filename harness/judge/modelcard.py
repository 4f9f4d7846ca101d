"""ModelZoo model cards: their performance tables parsed into claims, and the card facts the report relies on."""
from __future__ import annotations

import datetime as _dt
import hashlib
import re
from pathlib import Path

from harness.errors import BadInput
from harness.judge.baseline_files import FORMAT
from harness.records.store import utc_now

CARD_LOG_EVERY = 100  # the ModelZoo logs the loss of one step every 100 steps (the card's loss ranges are those)

# Canonical row key -> the row names cards use (compared lower-cased with whitespace removed); the first is the
# Chinese card's label, which the report's card table uses for a row the card lacks.
ROW_NAMES = {
    "model_version": ("模型版本", "Model Version"),
    "resource": ("资源", "Resource", "Resources"),
    "uploaded_date": ("上传日期", "Uploaded Date", "Upload Date"),
    "mindspore_version": ("MindSpore版本", "MindSpore Version"),
    "dataset": ("数据集", "Dataset"),
    "training_parameters": ("训练参数", "Training Parameters"),
    "optimizer": ("优化器", "Optimizer"),
    "loss_function": ("损失函数", "Loss Function"),
    "outputs": ("生成器输出", "输出", "Outputs", "Output"),
    "speed": ("速度", "Speed"),
    "total_time": ("总时长", "总时间", "Total time", "Total Training Time"),
    "loss": ("收敛loss", "损失", "Loss", "Convergence loss"),
    "checkpoint": ("微调检查点", "Checkpoint for Fine tuning"),
    "scripts": ("脚本", "Scripts", "Script"),
    "ms_ssim": ("MS-SSIM",),
    "schedule": ("训练计划 (schedule)", "Schedule"),  # not on the card: the report checks the card against it
}
HEADER_NAMES = ("参数", "Parameters", "Parameter")
DEVICE_KINDS = ("Ascend", "GPU", "CPU")

NUM = r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"
SPLIT = re.compile(r"[;；,，]|<br\s*/?>")
DEVICES = re.compile(r"^\s*(\d+)\s*(?:pcs|pc|p|卡|cards?|devices?|npus?|gpus?)\s*[:：]?", re.I)
PER_STEP = re.compile(rf"({NUM})\s*(ms|s|sec)\s*/\s*(?:step|it|iter)\b", re.I)
THROUGHPUT = re.compile(rf"({NUM})\s*(?:imgs?|images?|fps)(?:\s*/\s*(?:s|sec|second))?\b", re.I)
DURATION = re.compile(rf"(?:({NUM})\s*(?:hours?|hrs?|h))?\s*(?:({NUM})\s*(?:minutes?|mins?|m(?![s/])))?"
                      rf"\s*(?:({NUM})\s*(?:seconds?|secs?|s)(?![/\w]))?", re.I)
RANGE = re.compile(rf"(?:([A-Za-z]\w*)\s*[:：]\s*)?\[?\s*({NUM})\s*(?:to|,|~|～|，)\s*({NUM})\s*\]?")
KEY_VALUE = re.compile(r"([A-Za-z_][\w ]*?)\s*[=:：]\s*([^,;，；]+)")
VERSION = re.compile(r"\d+\.\d+(?:\.\d+)?(?:[-.]?(?:rc|alpha|beta)\d*)?", re.I)
DATE_MDY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
DATE_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
BENIGN = re.compile(r"[\s:：;；,，.\[\]()|]|\bloss\b|损失", re.I)


def _norm(name: str) -> str:
    return re.sub(r"\s+", "", name).lower()


ROW_KEYS = {_norm(alias): key for key, aliases in ROW_NAMES.items() for alias in aliases}


def _number(text: str):
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text.strip()


def _leftover(cell: str, spans: list[tuple[int, int]], where: str) -> list[str]:
    """Return a warning if characters outside the matched spans are more than separators."""
    rest = "".join(ch for i, ch in enumerate(cell) if not any(a <= i < b for a, b in spans))
    rest = BENIGN.sub("", rest)
    return [f"{where}: ignored stray text {rest!r} in {cell.strip()!r}"] if rest else []


def _duration_seconds(m: re.Match) -> float | None:
    h, mi, s = (float(g) if g else 0.0 for g in m.groups())
    return None if not any(m.groups()) else h * 3600 + mi * 60 + s


def parse_timings(cell: str, where: str = "speed") -> tuple[dict, list[str]]:
    """Return ({total_time, step_time, throughput: [{devices, value, raw}]}, warnings) from a speed cell."""
    out: dict[str, list] = {"total_time": [], "step_time": [], "throughput": []}
    warnings: list[str] = []
    for segment in SPLIT.split(cell):
        if not segment.strip():
            continue
        dev = DEVICES.match(segment)
        devices = int(dev.group(1)) if dev else None
        body_start = dev.end() if dev else 0
        body = segment[body_start:]
        spans = [(0, body_start)]
        if m := PER_STEP.search(body):
            scale = 1e-3 if m.group(2).lower() == "ms" else 1.0
            out["step_time"].append({"devices": devices, "seconds": float(m.group(1)) * scale,
                                     "raw": segment.strip()})
        elif m := THROUGHPUT.search(body):
            out["throughput"].append({"devices": devices, "images_per_s": float(m.group(1)),
                                      "raw": segment.strip()})
        else:
            m = next((d for d in DURATION.finditer(body) if d.group(0).strip() and any(d.groups())), None)
            if m is None:
                warnings.append(f"{where}: no timing found in {segment.strip()!r}")
                continue
            if re.search(r"[HMS]", m.group(0)):
                warnings.append(f"{where}: odd unit case in {m.group(0).strip()!r}, read as "
                                f"{m.group(0).strip().lower()!r}")
            out["total_time"].append({"devices": devices, "seconds": _duration_seconds(m),
                                      "raw": segment.strip()})
        spans.append((body_start + m.start(), body_start + m.end()))
        warnings += _leftover(segment, spans, where)
    return {k: v for k, v in out.items() if v}, warnings


def parse_loss(cell: str, where: str = "loss") -> tuple[dict, list[str]]:
    """Return ({loss_ranges: {name: [lo, hi]}} or {loss_value}, warnings) from a convergence-loss cell."""
    ranges, spans, warnings = {}, [], []
    for m in RANGE.finditer(cell):
        lo, hi = float(m.group(2)), float(m.group(3))
        if lo > hi:
            warnings.append(f"{where}: range {m.group(0).strip()!r} reversed; read as [{hi}, {lo}]")
            lo, hi = hi, lo
        ranges[m.group(1) or "loss"] = [lo, hi]
        spans.append(m.span())
    if ranges:
        return {"loss_ranges": ranges}, warnings + _leftover(cell, spans, where)
    m = re.search(NUM, cell)
    if m is None:
        return {}, [f"{where}: no loss value in {cell.strip()!r}"]
    return {"loss_value": float(m.group(0))}, _leftover(cell, [m.span()], where)


def parse_training_parameters(cell: str, where: str = "training_parameters") -> tuple[dict, list[str]]:
    """Return ({training_parameters, batch_size, lr}, warnings) from 'batch_size=128, lr=0.001' style text."""
    params, spans = {}, []
    for m in KEY_VALUE.finditer(cell):
        params[re.sub(r"\s+", "_", m.group(1).strip().lower())] = _number(m.group(2))
        spans.append(m.span())
    out = {"training_parameters": params}
    for key, aliases in {"batch_size": ("batch_size", "batch", "batchsize"),
                         "lr": ("lr", "learning_rate")}.items():
        value = next((params[a] for a in aliases if a in params), None)
        if value is not None:
            out[key] = value
    return out, _leftover(cell, spans, where)


def parse_version(cell: str, where: str = "mindspore_version") -> tuple[dict, list[str]]:
    """Return ({mindspore_version}, warnings) from a version cell."""
    m = VERSION.search(cell)
    return ({"mindspore_version": m.group(0)}, []) if m else ({}, [f"{where}: no version in {cell.strip()!r}"])


def parse_date(cell: str, where: str = "uploaded_date") -> tuple[dict, list[str]]:
    """Return ({uploaded_date: ISO date or raw}, warnings); impossible dates are kept raw with a warning."""
    if m := DATE_ISO.search(cell):
        y, mo, d = map(int, m.groups())
    elif m := DATE_MDY.search(cell):
        mo, d, y = map(int, m.groups())
    else:
        return {}, [f"{where}: no date in {cell.strip()!r}"]
    try:
        return {"uploaded_date": _dt.date(y, mo, d).isoformat()}, []
    except ValueError as e:
        return {"uploaded_date": m.group(0)}, [f"{where}: {m.group(0)!r} is not a valid date ({e})"]


def parse_ms_ssim(cell: str, where: str = "ms_ssim") -> tuple[dict, list[str]]:
    """Return ({ms_ssim}, warnings) from an MS-SSIM cell."""
    m = re.search(NUM, cell)
    return ({"ms_ssim": float(m.group(0))}, []) if m else ({}, [f"{where}: no value in {cell.strip()!r}"])


def _text(key: str):
    def parse(cell: str, where: str = key) -> tuple[dict, list[str]]:
        return {key: cell.strip()}, []
    return parse


PARSERS = {"speed": parse_timings, "total_time": parse_timings, "loss": parse_loss,
           "training_parameters": parse_training_parameters, "mindspore_version": parse_version,
           "uploaded_date": parse_date, "ms_ssim": parse_ms_ssim, "optimizer": _text("optimizer"),
           "dataset": _text("dataset"), "resource": _text("resource"), "model_version": _text("model_version"),
           "outputs": _text("outputs")}


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _tables(text: str) -> list[tuple[str, list[list[str]]]]:
    """Return (heading, rows) of every markdown table whose first header cell names parameters."""
    heads = {_norm(h) for h in HEADER_NAMES}
    found, title, block = [], "", []
    for line in text.splitlines() + [""]:
        if line.lstrip().startswith("|"):
            block.append(_cells(line))
            continue
        if block and _norm(block[0][0]) in heads:
            found.append((title, [r for r in block if not all(re.fullmatch(r":?-+:?", c) for c in r if c)]))
        block = []
        if m := re.match(r"#+\s*(.+)", line.strip()):
            title = m.group(1).strip()
    return found


def _merge(claims: dict, new: dict) -> None:
    for key, value in new.items():
        if isinstance(value, list) and isinstance(claims.get(key), list):
            claims[key] = claims[key] + value
        else:
            claims[key] = value


def _batch_note(claims: dict) -> None:
    """Read a batch divisible by the largest device count as global batch (per-device x devices)."""
    counts = [e["devices"] for k in ("total_time", "step_time") for e in claims.get(k, []) if e["devices"]]
    batch, n = claims.get("batch_size"), max(counts, default=1)
    if isinstance(batch, int) and n > 1 and batch % n == 0:
        claims["batch_per_device"] = {"devices": n, "per_device": batch // n, "global": batch}
        claims.setdefault("notes", []).append(
            f"batch_size={batch} may be global: {batch // n} per device x {n} devices")


def _column(name: str, rows: list[list[str]], index: int, title: str) -> tuple[dict, list[str]]:
    column = {"name": name, "device": next((d for d in DEVICE_KINDS if d.lower() in name.lower()), name),
              "rows": {}, "claims": {}}
    warnings = []
    for row in rows:
        if index >= len(row) or not row[index].strip():
            continue
        key = ROW_KEYS.get(_norm(row[0]), _norm(row[0]))
        cell = row[index]
        column["rows"][key] = {"label": row[0], "raw": cell}
        if key in PARSERS:
            claims, w = PARSERS[key](cell, f"{title or 'table'} / {name} / {row[0]}")
            _merge(column["claims"], claims)
            warnings += w
    _batch_note(column["claims"])
    return column, warnings


def parse_model_card(text: str) -> dict:
    """Return the model-card baseline (tables, columns, rows with raw text, parsed claims, warnings)."""
    tables, warnings = [], []
    for title, rows in _tables(text):
        header, body = rows[0], rows[1:]
        for r in body:
            if len(r) != len(header):
                warnings.append(f"{title}: row {r[0]!r} has {len(r)} cells, header has {len(header)}")
        columns = []
        for i, name in enumerate(header[1:], start=1):
            column, w = _column(name, body, i, title)
            columns.append(column)
            warnings += w
        tables.append({"title": title, "header": header[0], "columns": columns})
    if not tables:
        warnings.append("no '参数 | ...' / 'Parameters | ...' table found")
    return {"format": FORMAT, "kind": "model-card", "created": utc_now(), "tables": tables,
            "warnings": warnings}


def baseline_from_model_card(path: str | Path) -> dict:
    """Return the model-card baseline of the card at ``path`` (with its file name and sha256)."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise BadInput(f"{path}: cannot read the model card ({e.strerror or e})") from None
    out = parse_model_card(data.decode("utf-8", errors="replace"))
    if not out["tables"]:
        raise BadInput(f"{path}: no '参数 | ...' / 'Parameters | ...' table found; expected a ModelZoo model "
                       f"card (README.md) with its performance table")
    out["source"] = {"path": str(path), "sha256": hashlib.sha256(data).hexdigest()}
    return out


def card_claims(baseline: dict, device: str | None = None) -> dict:
    """Return the claims of the first column (matching ``device`` if given) of a model-card baseline."""
    for table in baseline.get("tables", []):
        for column in table["columns"]:
            if device is None or column["device"].lower() == device.lower():
                return {**column["claims"], "device": column["device"], "column": column["name"],
                        "rows": column["rows"], "title": table["title"], "header": table["header"]}
    return {}
