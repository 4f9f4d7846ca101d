"""The markdown report: records as pandas tables (card layout, step time, projection, losses, FID, latency)."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from pgan_ref.config import load_config
from pgan_ref.schedule import schedule_summary

from . import plots, stats
from .fid.protocol import manifest_sha256
from .modelcard import card_claims

LABEL_COLUMNS = ("scale", "phase", "batch_size", "iterations", "phase_iterations", "runtime", "timer", "structure",
                 "network")
TOLERANCE = 0.10  # relative band within which a timing "reproduces" a claim
CARD_LOG_EVERY = 100  # the ModelZoo prints the loss of one step every 100 steps
NOT_COMPARABLE = "not comparable (different device)"
LOSS_NAMES = {"loss_g": "G", "loss_d": "D"}
CARD_PRESET = "modelzoo-910"  # the card's own schedule (ModelZoo 910_config.yaml): 528,000 it on 1p, 66,000 on 8p
MIN_CARD_STYLE = 5  # fewer card-style (every-100-step) samples than this: judge the loss range on every step
FID_PROTOCOL_N = 50_000  # the FID convention: 50k generated images; fewer bias FID upwards
# MS-SSIM is not on the Ascend card; the ModelZoo PGAN's GPU card claims this value on CelebA (its own claim).
GPU_CARD_MS_SSIM = "none on this card; the ModelZoo GPU card claims MS-SSIM 0.2948 (that card's claim, GPU column)"


@dataclass
class Section:
    """One report section: a title, markdown body, tables to export and plots to link."""

    title: str
    body: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


def records_frame(records: list[dict]) -> pd.DataFrame:
    """Return one row per record with labels, protocol and software flattened into columns."""
    rows = []
    for r in records:
        lab, par, meta = r.get("labels") or {}, r.get("params") or {}, r.get("meta") or {}
        samples = r.get("samples") or ([] if r.get("value") is None else [r["value"]])
        rows.append({"run_id": r["run_id"], "scenario": r["scenario"], "source": r["source"], "metric": r["metric"],
                     "unit": r["unit"], "value": r.get("value"), **{c: lab.get(c) for c in LABEL_COLUMNS},
                     "devices": int(lab.get("devices") or par.get("devices") or meta.get("device_count") or 1),
                     "device": par.get("device") or meta.get("device"), "preset": par.get("preset"),
                     "variant": par.get("variant"), "mindspore": meta.get("mindspore"), "cann": meta.get("cann"),
                     "cpu": (meta.get("cpu") or {}).get("brand"), "cpu_count": (meta.get("cpu") or {}).get("count"),
                     "git_commit": meta.get("git_commit"),
                     "git_dirty": meta.get("git_dirty"), "time_start": r.get("time_start"),
                     "flags": list(r.get("flags") or []), "samples": [float(s) for s in samples],
                     "labels": lab, "params": par})
    return pd.DataFrame(rows)


def _text(v) -> str:
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)


def _values(col) -> str:
    vals = sorted({_text(v) for v in col if v is not None and not (isinstance(v, float) and math.isnan(v))})
    return ", ".join(vals) if vals else "n/a"


def context_line(df: pd.DataFrame) -> str:
    """Return the device / software / protocol line every table carries."""
    cpu = f" ({_values(df.cpu)})" if "CPU" in set(df.device) else ""
    return (f"*Device*: {_values(df.device)}{cpu}, devices {_values(df.devices)} · *software*: MindSpore "
            f"{_values(df.mindspore)}, CANN {_values(df.cann)} · *protocol*: preset {_values(df.preset)}, "
            f"variant {_values(df.variant)}, batch {_values(df.batch_size)}")


def hms(seconds: float) -> str:
    """Return seconds as the card's '76h23m39s' style (or '0.521 s' below a minute)."""
    if seconds is None or not math.isfinite(seconds):
        return "n/a"
    if seconds < 60:
        return f"{seconds:.3g} s"
    h, rest = divmod(round(seconds), 3600)
    return f"{h}h{rest // 60:02d}m{rest % 60:02d}s"


def pooled(df: pd.DataFrame) -> np.ndarray:
    """Return all finite samples of the rows, concatenated in row order."""
    return stats.finite(np.concatenate(list(df.samples))) if len(df) else np.array([])


def _table(df: pd.DataFrame) -> str:
    return df.to_markdown(index=False, floatfmt=".4g")


def step_table(df: pd.DataFrame) -> pd.DataFrame:
    """Return per (preset, scale, phase, devices, batch) step-time statistics, throughput and compile time."""
    steps = df[df.metric == "step_time"]
    compile_ = df[df.metric == "compile_time"]
    rows = []
    for (preset, scale, phase, devices, batch, timer, structure), g in steps.groupby(
            ["preset", "scale", "phase", "devices", "batch_size", "timer", "structure"], dropna=False):
        x = pooled(g)
        med, lo, hi = stats.bootstrap_median_ci(x)
        q1, q3, p90 = np.percentile(x, [25, 75, 90])
        comp = compile_[(compile_.scale == scale) & (compile_.devices == devices) & (compile_.preset == preset)
                        & ((compile_.structure == structure) | compile_.structure.isna() | pd.isna(structure))]
        rows.append({"preset": preset, "scale": scale, "phase": phase, "devices": devices, "batch": batch,
                     "structure": structure if isinstance(structure, str) else "fused",
                     "timer": timer if isinstance(timer, str) else "harness", "n": x.size,
                     "median (s)": med, "95% CI": f"[{lo:.4g}, {hi:.4g}]", "IQR (s)": q3 - q1, "p90 (s)": p90,
                     "images/s": batch * devices / med if batch else math.nan,
                     "compile (s)": float(np.median(pooled(comp))) if len(comp) else math.nan})
    return pd.DataFrame(rows)


def structure_table(df: pd.DataFrame, claims: dict) -> pd.DataFrame:
    """Return the fused step vs the ModelZoo's three-graph step (B9) side by side per scale, with the host-EMA share."""
    steps = df[(df.metric == "step_time") & (df.structure == "modelzoo-3graph")]
    per_step = next((e["raw"] for e in claims.get("step_time", [])), "n/a")
    rows = []
    for (run, preset, scale, phase, devices), g in steps.groupby(["run_id", "preset", "scale", "phase", "devices"]):
        same = df[(df.run_id == run) & (df.scale == scale) & (df.phase == phase) & (df.devices == devices)]
        fused = same[(same.metric == "step_time") & (same.structure == "fused")]
        ema = same[same.metric == "host_ema_time"]
        three, one = float(np.median(pooled(g))), float(np.median(pooled(fused))) if len(fused) else math.nan
        rows.append({"preset": preset, "scale": scale, "phase": phase, "devices": devices, "fused (s)": one,
                     "modelzoo-3graph (s)": three, "ratio 3graph/fused": three / one,
                     "host EMA (s)": float(np.median(pooled(ema))) if len(ema) else math.nan,
                     "EMA share": float(np.median(pooled(ema))) / three if len(ema) else math.nan,
                     "card per-step claim": per_step})
    return pd.DataFrame(rows)


def as_trained(df: pd.DataFrame) -> pd.DataFrame:
    """Return ``df`` without the fused step timed only for comparison in runs that train the ModelZoo structure."""
    b9_runs = set(df[df.structure == "modelzoo-3graph"].run_id)
    return df[~((df.structure == "fused") & df.run_id.isin(b9_runs))]


def speedup_table(steps: pd.DataFrame) -> pd.DataFrame:
    """Return throughput speed-up and efficiency of Np over 1p per (preset, scale, phase, batch)."""
    rows = []
    for (preset, scale, phase, batch, _, _), g in steps.groupby(["preset", "scale", "phase", "batch", "timer",
                                                                 "structure"], dropna=False):
        one = g[g.devices == 1]
        for _, row in g[g.devices > 1].iterrows():
            if len(one):
                speedup = row["images/s"] / one["images/s"].iloc[0]
                rows.append({"preset": preset, "scale": scale, "phase": phase, "batch": batch, "devices": row.devices,
                             "1p images/s": one["images/s"].iloc[0], "Np images/s": row["images/s"],
                             "speed-up": speedup, "efficiency": speedup / row.devices})
    return pd.DataFrame(rows)


def _scale_time(g: pd.DataFrame) -> tuple[float, float, float, float]:
    """Return (iterations, projected seconds, low, high) of one scale from its step-time rows.

    Each phase weighs by its own iterations when every phase of the scale was measured; otherwise all the
    scale's iterations are charged at the median of what was measured.
    """
    its = g.iterations.max()
    if g.phase_iterations.notna().all():
        parts = [(ph.phase_iterations.iloc[0], stats.bootstrap_median_ci(pooled(ph))) for _, ph in g.groupby("phase")]
        if sum(n for n, _ in parts) == its:
            return its, *(sum(n * ci[i] for n, ci in parts) for i in range(3))
    return its, *(its * v for v in stats.bootstrap_median_ci(pooled(g)))


def projection_table(df: pd.DataFrame, claims: dict) -> pd.DataFrame:
    """Return the projected total training time per (preset, device count), summed over scales, vs the card."""
    steps = df[(df.metric == "step_time") & df.iterations.notna()]
    card_total = {e["devices"]: e["seconds"] for e in claims.get("total_time", [])}
    card_device = claims.get("device")
    rows = []
    for (preset, devices), g in steps.groupby(["preset", "devices"]):
        parts = [_scale_time(s) for _, s in g.groupby("scale")]
        its, total, lo, hi = (sum(p[i] for p in parts) for i in range(4))
        claim = card_total.get(devices, math.nan)
        same = card_device is not None and card_device in set(g.device)
        verdict = ("no card claim" if math.isnan(claim) else
                   _interval_verdict(claim, lo, hi) if same else NOT_COMPARABLE)
        rows.append({"preset": preset, "devices": devices, "scales": ", ".join(f"{s:g}" for s in sorted(g.scale.unique())),
                     "iterations": int(its), "projected": hms(total), "interval": f"{hms(lo)} .. {hms(hi)}",
                     "mean s/it": total / its, "card total": hms(claim),
                     "card s/it (card schedule)": claim / card_iterations(devices),
                     "ratio ours/card": total / claim, "verdict": verdict})
    return pd.DataFrame(rows)


def card_iterations(devices: int) -> int:
    """Return the iterations of the card's own schedule (preset ``modelzoo-910``) on ``devices`` devices."""
    return sum(r["iterations"] for r in schedule_summary(load_config(preset=CARD_PRESET), int(devices)))


def _interval_verdict(claim: float, lo: float, hi: float) -> str:
    if lo * (1 - TOLERANCE) <= claim <= hi * (1 + TOLERANCE):
        return f"reproduces (±{TOLERANCE:.0%})"
    return f"differs ({(lo + hi) / 2 / claim:.2f}x)"


def logged_every(labels: dict) -> int:
    """Return how many training steps apart the samples are: ``sample_every``, the spacing of ``steps``, or 1."""
    steps = labels.get("steps")
    if isinstance(steps, list) and len(steps) > 1:
        return max(1, int(np.median(np.diff(steps))))
    return int(labels.get("sample_every") or 1)


def card_stride(labels: dict) -> int:
    """Return the sample stride that reproduces the card's one-value-every-100-steps sampling."""
    return max(1, CARD_LOG_EVERY // logged_every(labels))


def card_batch_size(claims: dict) -> int | None:
    """Return the per-device batch the card's loss sums are over (its batch_size read per device, else as is)."""
    return (claims.get("batch_per_device") or {}).get("per_device", claims.get("batch_size"))


def loss_table(df: pd.DataFrame, claims: dict) -> pd.DataFrame:
    """Return the per-scale loss envelope (all steps and card-style every-100-step sampling) vs card ranges."""
    card_batch = card_batch_size(claims)
    ranges = claims.get("loss_ranges", {})
    rows = []
    for (metric, scale, batch), g in df[df.metric.isin(list(LOSS_NAMES))].groupby(
            ["metric", "scale", "batch_size"], dropna=False):
        raw = np.concatenate(list(g.samples))
        x = stats.finite(raw)
        every = logged_every(g.labels.iloc[0])
        card_style = stats.finite(raw[::card_stride(g.labels.iloc[0])])
        card = ranges.get(LOSS_NAMES[metric])
        factor = card_batch / batch if card_batch and batch else 1.0
        judged, what = ((card_style, "card-style samples") if card_style.size >= MIN_CARD_STYLE
                        else (x, "steps"))
        rows.append({"loss": metric, "scale": scale, "batch": batch, "n": raw.size,
                     "min": x.min() if x.size else math.nan, "max": x.max() if x.size else math.nan,
                     "p1": np.percentile(x, 1) if x.size else math.nan,
                     "p99": np.percentile(x, 99) if x.size else math.nan,
                     "card-style min": card_style.min() if card_style.size else math.nan,
                     "card-style max": card_style.max() if card_style.size else math.nan,
                     "NaN/inf": int(raw.size - x.size), "recorded every": every, "card range": card or "n/a",
                     "skipped updates": _skipped(df, scale, batch, LOSS_NAMES[metric]),
                     "flags": ", ".join(sorted(set().union(*g["flags"]))),
                     "verdict": range_verdict(judged * factor, card, factor, what)})
    return pd.DataFrame(rows)


def _skipped(df: pd.DataFrame, scale, batch, network: str) -> int:
    """Return the updates of ``network`` skipped on loss-scale overflow (B4) at one scale and batch."""
    rows = df[(df.metric == "skipped_updates") & (df.scale == scale) & (df.batch_size == batch) & (df.network == network)]
    return int(rows.value.sum())


def range_verdict(values: np.ndarray, card: list | None, factor: float, what: str = "steps") -> str:
    """Return how many of ``values`` (already rescaled by ``factor``) lie within the card's [low, high] range."""
    if not card or not values.size:
        return "no card claim" if not card else "no data"
    scaled = "" if factor == 1 else f", x{factor:.3g} to the card's batch"
    inside = (values >= card[0]) & (values <= card[1])
    return f"{inside.mean():.0%} of {values.size} {what} within card range{scaled}"


def loss_summary(df: pd.DataFrame, claims: dict) -> list[tuple[str, str]]:
    """Return per loss (G, D) the envelope over every recorded step and scale, and its verdict vs the card."""
    card_batch = card_batch_size(claims)
    out = []
    for metric, g in sorted(df[df.metric.isin(list(LOSS_NAMES))].groupby("metric"), key=lambda m: m[0],
                            reverse=True):  # G before D, as the card lists them
        factors = {card_batch / b if card_batch and b else 1.0 for b in g.batch_size}
        factor = factors.pop() if len(factors) == 1 else math.nan
        x = pooled(g)
        name = LOSS_NAMES[metric]
        if not x.size or math.isnan(factor):
            out.append((f"{name}: no data" if not x.size else f"{name}: mixed batch sizes", "—"))
            continue
        ours = (f"{name}: [{x.min():.4g} to {x.max():.4g}] over {x.size} steps at {g.scale.min():g}-"
                f"{g.scale.max():g}px (p1..p99 {np.percentile(x, 1):.4g} to {np.percentile(x, 99):.4g})")
        out.append((ours, f"{name}: " + range_verdict(x * factor, claims.get("loss_ranges", {}).get(name), factor)))
    return out


def quality_flags(metric: str, n, manifest: dict) -> list[str]:
    """Return a quality value's flags: FID below the protocol's 50k images (biased upwards), v1 manifest."""
    flags = [f"n<{FID_PROTOCOL_N // 1000}k: small-n bias"] if metric == "fid" and n and n < FID_PROTOCOL_N else []
    if manifest and manifest.get("protocol_version", 1) < 2:
        flags.append("manifest-v1: compared only with v1")
    return flags


def quality_table(df: pd.DataFrame) -> pd.DataFrame:
    """Return one row per quality-scenario record: snapshot (scale, iteration, images seen), value, n and flags."""
    rows = []
    for _, r in df[df.scenario == "quality"].iterrows():
        lab, manifest = r.labels, r.labels.get("manifest") or {}
        rows.append({"metric": r.metric, "scale": lab.get("scale"), "iteration": lab.get("iteration"),
                     "images seen": lab.get("images_seen"), "value": r.value, "n": lab.get("n"),
                     "pairs": lab.get("pairs", "—"), "manifest sha256": manifest_sha256(manifest)[:12],
                     "flags": ", ".join(r["flags"] + quality_flags(r.metric, lab.get("n"), manifest))})
    return pd.DataFrame(rows).sort_values(["metric", "images seen"], kind="stable") if rows else pd.DataFrame()


def fid_table(df: pd.DataFrame) -> pd.DataFrame:
    """Return one row per FID record: its bootstrap CI, the run's KID, image count and protocol manifest."""
    def snapshot(r) -> tuple:  # a quality run evaluates several checkpoints: pair FID and KID per checkpoint
        return r.run_id, r.labels.get("checkpoint_sha256"), r.labels.get("n")

    kid = {snapshot(r): r.value for r in df[df.metric == "kid"].itertuples()}
    rows = []
    for _, r in df[df.metric == "fid"].iterrows():
        manifest = r.labels.get("manifest") or r.params.get("manifest") or {}
        ci = (r.params.get("fid_bootstrap") or {}).get("ci")
        n = r.labels.get("n", len(r.samples))
        rows.append({"run": r.run_id, "FID": r.value, "bootstrap CI": f"[{ci[0]:.4g}, {ci[1]:.4g}]" if ci else "n/a",
                     "KID": kid.get(snapshot(r), math.nan), "n": n,
                     "preprocess": r.labels.get("preprocess", "n/a"),
                     "manifest sha256": manifest_sha256(manifest)[:12] if manifest else "n/a",
                     "flags": ", ".join(r["flags"] + quality_flags(r.metric, n, manifest))})
    return pd.DataFrame(rows)


def latency_table(df: pd.DataFrame) -> pd.DataFrame:
    """Return latency statistics per (runtime, batch, source); single samples are flagged 'one-sample'."""
    rows = []
    for (runtime, batch, source), g in df[df.metric == "latency"].groupby(["runtime", "batch_size", "source"],
                                                                          dropna=False):
        x = pooled(g)
        q1, med, q3, p90, p99 = np.percentile(x, [25, 50, 75, 90, 99])
        flags = sorted(set().union(*g["flags"]) | ({"one-sample"} if x.size == 1 else set()))
        rows.append({"runtime": runtime, "batch": batch, "source": source, "n": x.size, "median (ms)": med,
                     "IQR (ms)": q3 - q1, "p90 (ms)": p90, "p99 (ms)": p99,
                     "images/s": batch * 1000 / med if batch else math.nan, "flags": ", ".join(flags)})
    return pd.DataFrame(rows)


def _measured_step(df: pd.DataFrame) -> dict[str, tuple[float, float, float, np.ndarray]]:
    """Return per 'Np preset' the step-time median, CI and samples at the largest measured scale (stable phase)."""
    steps = df[df.metric == "step_time"]
    out = {}
    for (devices, preset), g in steps.groupby(["devices", "preset"]):
        top = g[g.scale == g.scale.max()]
        top = top[top.phase == "stable"] if (top.phase == "stable").any() else top
        out[f"{devices}p {preset} @{top.scale.max():g}px"] = (*stats.bootstrap_median_ci(pooled(top)), pooled(top))
    return out


def card_rows(df: pd.DataFrame, claims: dict) -> pd.DataFrame:
    """Return the model card's table with our measurement and a verdict per row (card layout and labels)."""
    train = df[df.metric.isin(["step_time", *LOSS_NAMES])]
    train = train if len(train) else df
    same_device = claims.get("device") in set(train.device)
    raw = {k: v["raw"] for k, v in claims.get("rows", {}).items()}
    total_claims = "; ".join(e["raw"] for e in claims.get("total_time", []))
    timing_claims = "; ".join(e["raw"] for k in ("total_time", "step_time") for e in claims.get(k, []))
    rows: list[tuple[str, str, str, str]] = []

    def add(key: str, label: str, ours: str, verdict: str = "—", claim: str = "—"):
        rows.append((claims.get("rows", {}).get(key, {}).get("label", label), raw.get(key, claim), ours, verdict))

    add("model_version", "模型版本", f"PGAN (pgan_ref, variant {_values(df.variant)})")
    add("resource", "资源", f"{_values(train.device)} ({_values(train.cpu)})" if "CPU" in set(train.device)
        else _values(train.device), "same device" if same_device else "different device")
    add("uploaded_date", "上传日期", f"measured {_values(pd.Series(df.time_start).str[:10])}")
    ms = _values(df.mindspore)
    add("mindspore_version", "MindSpore版本", ms,
        "same" if claims.get("mindspore_version") == ms else "differs (information)")
    dataset = _values([p.get("dataset") for p in df.params])
    add("dataset", "数据集", dataset.replace("n/a", "not recorded"), _same(dataset, claims.get("dataset")))
    add("training_parameters", "训练参数", *_batch_row(train, claims))
    optimizer = _values([p.get("optimizer") for p in df.params])
    add("optimizer", "优化器", optimizer.replace("n/a", "not recorded"),
        _same(optimizer.split("(")[0], claims.get("optimizer")))
    add("outputs", "生成器输出", "image" if df.metric.isin(["fid", "latency"]).any() else "—")
    add("speed", "速度", *_speed_row(train, claims, same_device))
    projection = projection_table(train, claims)
    add("total_time", "总时长", "; ".join(f"{r.devices}p {r.preset}: {r.projected} ({r.interval})" for r in
                                       projection.itertuples()) or "not measured",
        "; ".join(f"{r.devices}p {r.preset}: {r.verdict}" for r in projection.itertuples()) or "—", total_claims)
    add("schedule", "训练计划 (schedule)", *_schedule_row(train, claims), timing_claims)
    losses = loss_summary(df, claims)
    add("loss", "收敛loss", "; ".join(o for o, _ in losses) or "not measured", "; ".join(v for _, v in losses) or "—")
    add("ms_ssim", "MS-SSIM", _ms_ssim_row(df), "—", GPU_CARD_MS_SSIM)
    add("scripts", "脚本", f"pgan-harness @ {_values(pd.Series(df.git_commit).str[:10])}")
    return pd.DataFrame(rows, columns=[claims.get("header", "Parameters"), "card claim", "our measurement",
                                       "verdict"])


def _ms_ssim_row(df: pd.DataFrame) -> str:
    """Return MS-SSIM of generated (and real) pairs at the most trained snapshot, with scale, images seen, pairs."""
    ours = df[df.metric.isin(["ms_ssim_fake", "ms_ssim_real"])]
    if ours.empty:
        return "not measured"
    seen = ours.labels.map(lambda lab: lab.get("images_seen") or 0)
    last = ours[seen == seen.max()].sort_values("metric")
    return "; ".join(f"{r.metric.replace('ms_ssim_', '')} pairs {r.value:.4f} ({r.labels.get('pairs')} pairs, "
                     f"{r.labels.get('scale')} px, {r.labels.get('images_seen')} images seen)" for r in last.itertuples())


def _same(ours: str, claim) -> str:
    if ours == "n/a":
        return "not recorded"
    return "—" if claim is None else "same" if ours.strip().lower() == str(claim).strip().lower() else "differs"


def _batch_row(df: pd.DataFrame, claims: dict) -> tuple[str, str]:
    per_device = (claims.get("batch_per_device") or {}).get("per_device")
    batches = {int(b) for b in df.batch_size.dropna()}
    lrs = {float(p["lr"]) for p in df.params if p.get("lr") is not None}
    ours = f"batch_size={_values(sorted(batches))} per device x {_values(df.devices)} devices, lr={_values(lrs)}"
    if not batches:
        return ours, "not recorded"
    ok = batches <= {claims.get("batch_size"), per_device}
    note = f" (card's {claims.get('batch_size')} read as {per_device} x {claims['batch_per_device']['devices']})" \
        if per_device else ""
    lr_verdict = ("" if not lrs or claims.get("lr") is None else
                  "; lr matches" if lrs == {float(claims["lr"])} else "; lr differs")
    return ours, ("batch matches" if ok else "batch differs") + note + lr_verdict


def _speed_row(df: pd.DataFrame, claims: dict, same_device: bool) -> tuple[str, str]:
    measured = _measured_step(df)
    if not measured:
        return "not measured", "—"
    ours = "; ".join(f"{d}: {m:.4g} s/step [{lo:.4g}, {hi:.4g}]" for d, (m, lo, hi, _) in measured.items())
    claim = next((e["seconds"] for e in claims.get("step_time", [])), None)
    if claim is None:
        return ours, "no card claim"
    if not same_device:
        return ours, NOT_COMPARABLE
    verdicts = []
    for d, (*_, x) in measured.items():
        t = stats.tost_scalar(x, claim, TOLERANCE)
        verdicts.append(f"{d}: " + (f"reproduces (±{TOLERANCE:.0%}, TOST p={t.pvalue:.2g})" if t.equivalent
                                     else f"not shown equivalent ({t.estimate:.2f}x)"))
    return ours, "; ".join(verdicts)


def _schedule_row(df: pd.DataFrame, claims: dict) -> tuple[str, str]:
    """Check the card against itself: the s/it its totals imply over its own schedule vs its per-step figure."""
    steps = df[(df.metric == "step_time") & df.iterations.notna()]
    its = {(preset, d): int(g.groupby("scale").iterations.max().sum())
           for (preset, d), g in steps.groupby(["preset", "devices"])}
    totals = {e["devices"]: e["seconds"] for e in sorted(claims.get("total_time", []), key=lambda e: e["devices"] or 0)
              if e["devices"]}
    card_its = {d: card_iterations(d) for d in totals}
    ours = "; ".join([f"card schedule ({CARD_PRESET}): " + ", ".join(f"{d}p {n:,} it" for d, n in card_its.items())]
                     * bool(card_its) + [f"ours ({preset}): {d}p {n:,} it" for (preset, d), n in its.items()])
    per_step = next((e["seconds"] for e in claims.get("step_time", [])), None)
    if per_step is None or not totals:
        return ours or "no schedule recorded", "—"
    parts = []
    for d, seconds in totals.items():
        implied = seconds / card_its[d]
        agree = "consistent" if abs(implied / per_step - 1) <= TOLERANCE else f"inconsistent ({per_step / implied:.2f}x)"
        parts.append(f"{d}p: {hms(seconds)} / {card_its[d]:,} it = {implied:.3f} s/it vs card {per_step:g} s/step: "
                     f"{agree}")
    return ours, "; ".join(parts)


def _section_card(df, claims, out) -> Section | None:
    if not claims:
        return None
    body = (f"Card: {claims.get('title', '')} / column {claims.get('column')} (device {claims.get('device')}). "
            f"{context_line(df)}\n\nTimings on a different device are not comparable with the card; loss-range "
            f"and schedule rows still are.\n\n")
    table = card_rows(as_trained(df), claims)
    return Section("Model card vs our measurements", body + _table(table), {"card": table})


def _section_steps(df, claims, out) -> Section | None:
    table = step_table(df)
    if table.empty:
        return None
    body = f"{context_line(df[df.metric == 'step_time'])}\n\n{_table(table)}"
    tables = {"step_time": table}
    structures = structure_table(df, claims)
    if not structures.empty:
        body += ("\n\nStep structure (B9): our fused graph vs the ModelZoo's three graph calls with host-side EMA, "
                 f"timed side by side in one run (the card's figure is the ModelZoo structure).\n\n{_table(structures)}")
        tables["step_structure"] = structures
    speed = speedup_table(table)
    if not speed.empty:
        shared = (f" On CPU the ranks share one machine's {_values(df.cpu_count)} cores: this measures the data-parallel "
                  "protocol (all-reduce, identical parameters on every rank) and its cost, not scaling."
                  if "CPU" in set(df.device) else "")
        body += f"\n\n1p vs Np (throughput = batch x devices / median step).{shared}\n\n{_table(speed)}"
        tables["speedup"] = speed
    png = plots.step_time_plot(df[df.metric == "step_time"], out / "step_time.png")
    return Section("Step time per scale", body + f"\n\n![step time]({png.name})", tables)


def _section_projection(df, claims, out) -> Section | None:
    table = projection_table(as_trained(df), claims)
    if table.empty:
        return None
    per_step = next((e["raw"] for e in claims.get("step_time", [])), "n/a")
    body = (f"{context_line(df[df.metric == 'step_time'])}\n\nSum over scales of the schedule's iterations x the "
            f"median step (per phase when `phase_iterations` is recorded). Card per-step figure: {per_step}.\n\n")
    return Section("Projected total training time", body + _table(table), {"projection": table})


def _section_losses(df, claims, out) -> Section | None:
    table = loss_table(df, claims)
    if table.empty:
        return None
    losses = df[df.metric.isin(list(LOSS_NAMES))]
    body = (f"{context_line(losses)}\n\nCaveat: the card's ranges are single-step "
            f"values printed every {CARD_LOG_EVERY} steps, summed over a batch of "
            f"{(claims.get('batch_per_device') or {}).get('per_device', 16)}; the card-style columns sample ours the "
            f"same way and the verdict rescales sums to the card's batch.\n\n")
    card = {m: claims.get("loss_ranges", {}).get(name) for m, name in LOSS_NAMES.items()}
    png = plots.loss_plot(losses.assign(stride=[card_stride(lab) for lab in losses.labels]), out / "losses.png", card)
    return Section("Loss envelopes", body + _table(table) + f"\n\n![losses]({png.name})", {"losses": table})


def _section_fid(df, claims, out) -> Section | None:
    table = fid_table(df)
    if table.empty:
        return None
    body = (f"{context_line(df[df.metric == 'fid'])}\n\nFID values are only comparable under equal protocol manifests "
            f"(same sha256; the full manifests are in report.json).\n\n")
    return Section("FID", body + _table(table), {"fid": table})


def _section_quality(df, claims, out) -> Section | None:
    table = quality_table(df)
    if table.empty:
        return None
    quality = df[df.scenario == "quality"]
    png = plots.quality_plot(quality.assign(images_seen=[lab.get("images_seen") for lab in quality.labels],
                                            n=[lab.get("n") for lab in quality.labels]), out / "quality.png")
    body = (f"{context_line(quality)}\n\n`pgan-harness run quality`: each snapshot's AvG samples (alpha 0) against "
            f"the training images at the snapshot's scale. SWD x1e3 is the average over levels down to 16 px; "
            f"MS-SSIM is over consecutive pairs of generated (diversity: lower is more diverse) and of real images; "
            f"P/R/D/C use k = 3 on the FID features. n is the image count per set; FID below "
            f"{FID_PROTOCOL_N:,} images is flagged (biased upwards).\n\n")
    return Section("Quality over training", body + _table(table) + f"\n\n![quality]({png.name})",
                   {"quality": table})


def _section_latency(df, claims, out) -> Section | None:
    table = latency_table(df)
    if table.empty:
        return None
    png = plots.latency_plot(df[df.metric == "latency"], out / "latency.png")
    body = (f"{context_line(df[df.metric == 'latency'])}\n\n'one-sample' rows (e.g. ingested Ascend 310 "
            f"`time_Result` numbers) are a single timed call without warm-up.\n\n")
    return Section("Inference latency", body + _table(table) + f"\n\n![latency]({png.name})", {"latency": table})


SECTIONS: list[tuple[str, Callable]] = [
    ("no model-card baseline given (--baseline FILE from `baseline --from-model-card`)", _section_card),
    ("no step_time records", _section_steps),
    ("no step_time records with an `iterations` label", _section_projection),
    ("no loss_g / loss_d records", _section_losses),
    ("no fid records", _section_fid),
    ("no quality-scenario records", _section_quality),
    ("no latency records", _section_latency),
]


def write_report(records: list[dict], out: str | Path, baseline: dict | None = None) -> Path:
    """Write report.md, CSV/JSON of the data and the PNG plots to ``out``; return the report path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    df = records_frame(records)
    claims = card_claims(baseline) if baseline and baseline.get("kind") == "model-card" else {}
    parts = ["# PGAN reproducibility report", "",
             f"{len(records)} records from {df.run_id.nunique() if len(df) else 0} runs. {context_line(df)}"
             if len(df) else "No records.", ""]
    tables: dict[str, pd.DataFrame] = {}
    for note, build in SECTIONS:
        section = build(df, claims, out) if len(df) else None
        if section is None:
            parts += [f"*{note}: section omitted.*", ""]
            continue
        parts += [f"## {section.title}", "", section.body, ""]
        tables.update(section.tables)
    for name, table in tables.items():
        table.to_csv(out / f"{name}.csv", index=False)
    flat = df.drop(columns=["samples", "labels", "params"], errors="ignore")
    flat.to_csv(out / "records.csv", index=False)
    (out / "report.json").write_text(json.dumps({"tables": {k: t.to_dict("records") for k, t in tables.items()},
                                                 "records": records}, default=str, indent=1, allow_nan=True))
    parts += ["Data: [records.csv](records.csv), [report.json](report.json)"
              + "".join(f", [{k}.csv]({k}.csv)" for k in tables), ""]
    path = out / "report.md"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
