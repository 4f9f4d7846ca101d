"""Records as pandas tables, one function per table (step time, projection, losses, FID, quality, latency).

Verdict columns hold the sentence of ``card_check``'s judgement; the card's own table is ``card_table``.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from pgan_ref.config import FUSED, THREE_GRAPH, load_config
from pgan_ref.schedule import schedule_summary

from harness.impls.names import MODELZOO_CODE, OURS, PGZ_OPTIMIZE, PYTORCH_GAN_ZOO
from harness.judge import card_check, stats
from harness.judge.modelcard import CARD_LOG_EVERY
from harness.judge.verdicts import Judgement
from harness.quality.fid.protocol import manifest_sha256
from harness.records.peak import nominal_peak
from harness.records.schema import Record

LABEL_COLUMNS = ("scale", "phase", "batch_size", "iterations", "phase_iterations", "runtime", "timer", "structure",
                 "impl", "network", "flops_per_iteration")
IMPL_COLUMNS = {"pgan_ref fused": (OURS, FUSED), "pgan_ref 3-graph": (OURS, THREE_GRAPH),
                "ModelZoo code": (MODELZOO_CODE, THREE_GRAPH),
                "pytorch_GAN_zoo": (PYTORCH_GAN_ZOO, PGZ_OPTIMIZE)}  # impl_table's columns: (implementation, structure)
REFERENCES = ("ModelZoo code", "pytorch_GAN_zoo")  # impl_table's ratio reference: the first one timed in the row
LOSS_NAMES = {"loss_g": "G", "loss_d": "D"}
CARD_PRESET = "modelzoo-910"  # the card's own schedule (ModelZoo 910_config.yaml): 528,000 it on 1p, 66,000 on 8p
MIN_CARD_STYLE = 5  # fewer card-style (every-100-step) samples than this: judge the loss range on every step
FID_PROTOCOL_N = 50_000  # the FID convention: 50k generated images; fewer bias FID upwards


def records_frame(records: list[dict]) -> pd.DataFrame:
    """Return one row per record (read as a typed ``Record``) with labels, protocol and software as columns."""
    rows = []
    for r in map(Record.from_dict, records):
        lab, par, meta = r.labels, r.params, r.meta
        rows.append({"run_id": r.run_id, "scenario": r.scenario, "source": r.source, "metric": r.metric,
                     "unit": r.unit, "value": r.value, **{c: lab.get(c) for c in LABEL_COLUMNS},
                     "devices": int(lab.get("devices") or par.get("devices") or meta.get("device_count") or 1),
                     "device": par.get("device") or meta.get("device"), "preset": par.get("preset"),
                     "variant": par.get("variant"), "mindspore": meta.get("mindspore"), "cann": meta.get("cann"),
                     "cpu": (meta.get("cpu") or {}).get("brand"), "cpu_count": (meta.get("cpu") or {}).get("count"),
                     "git_commit": meta.get("git_commit"),
                     "git_dirty": meta.get("git_dirty"), "time_start": r.time_start,
                     "flags": list(r.flags), "samples": [float(s) for s in r.observations],
                     "labels": lab, "params": par, "manifest": r.manifest, "ci": r.ci,
                     **dict(zip(("peak_flops", "peak"), nominal_peak(meta)))})
    return pd.DataFrame(rows)


def _text(v) -> str:
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)


def distinct(col) -> str:
    """Return the distinct values of a column as sorted text ('n/a' when there are none)."""
    vals = sorted({_text(v) for v in col if v is not None and not (isinstance(v, float) and math.isnan(v))})
    return ", ".join(vals) if vals else "n/a"


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


def implementation(df: pd.DataFrame) -> pd.Series:
    """Return each row's implementation: its ``impl`` label, else ours (``pgan_ref``)."""
    return df.impl.where(df.impl.notna(), OURS)


def step_table(df: pd.DataFrame) -> pd.DataFrame:
    """Return per (preset, implementation, scale, phase, devices, batch) step-time statistics, throughput, achieved
    FLOP/s (the model's own count) as a share of the CPU's nominal peak, and compile time."""
    df = df.assign(impl=implementation(df))
    steps = df[df.metric == "step_time"]
    compile_ = df[df.metric == "compile_time"]
    flops = df[df.metric == "flops_achieved"]
    rows = []
    for (preset, impl, scale, phase, devices, batch, timer, structure), g in steps.groupby(
            ["preset", "impl", "scale", "phase", "devices", "batch_size", "timer", "structure"], dropna=False):
        x = pooled(g)
        med, lo, hi = stats.bootstrap_median_ci(x)
        q1, q3, p90 = np.percentile(x, [25, 75, 90])
        comp = compile_[(compile_.scale == scale) & (compile_.devices == devices) & (compile_.preset == preset)
                        & (compile_.impl == impl)
                        & ((compile_.structure == structure) | compile_.structure.isna() | pd.isna(structure))]
        per_it = flops[(flops.scale == scale) & (flops.phase == phase) & (flops.devices == devices)
                       & (flops.preset == preset)].flops_per_iteration.dropna()
        achieved = float(per_it.iloc[0]) * devices / med if len(per_it) else math.nan
        peak = g.peak_flops.dropna()
        rows.append({"preset": preset, "impl": impl, "scale": scale, "phase": phase, "devices": devices, "batch": batch,
                     "structure": structure if isinstance(structure, str) else FUSED,
                     "timer": timer if isinstance(timer, str) else "harness", "n": x.size,
                     "median (s)": med, "95% CI": f"[{lo:.4g}, {hi:.4g}]", "IQR (s)": q3 - q1, "p90 (s)": p90,
                     "images/s": batch * devices / med if batch else math.nan,
                     "GFLOP/s": achieved / 1e9, "% of peak": 100 * achieved / peak.iloc[0] if len(peak) else math.nan,
                     "compile (s)": float(np.median(pooled(comp))) if len(comp) else math.nan})
    return pd.DataFrame(rows)


def card_per_step(claims: dict) -> str:
    """Return the card's per-step figure as the card writes it (e.g. '1.1s/step'), or 'n/a'."""
    return next((e["raw"] for e in claims.get("step_time", [])), "n/a")


def structure_table(df: pd.DataFrame, claims: dict) -> pd.DataFrame:
    """Return the fused step vs the ModelZoo's three-graph step (B9) side by side per scale, with the host-EMA share."""
    steps = df[(df.metric == "step_time") & (df.structure == THREE_GRAPH) & df.impl.isna()]
    per_step = card_per_step(claims)
    rows = []
    for (run, preset, scale, phase, devices), g in steps.groupby(["run_id", "preset", "scale", "phase", "devices"]):
        same = df[(df.run_id == run) & (df.scale == scale) & (df.phase == phase) & (df.devices == devices)]
        fused = same[(same.metric == "step_time") & (same.structure == FUSED)]
        ema = same[same.metric == "host_ema_time"]
        three, one = float(np.median(pooled(g))), float(np.median(pooled(fused))) if len(fused) else math.nan
        rows.append({"preset": preset, "scale": scale, "phase": phase, "devices": devices, "fused (s)": one,
                     "modelzoo-3graph (s)": three, "ratio 3graph/fused": three / one,
                     "host EMA (s)": float(np.median(pooled(ema))) if len(ema) else math.nan,
                     "EMA share": float(np.median(pooled(ema))) / three if len(ema) else math.nan,
                     "card per-step claim": per_step})
    return pd.DataFrame(rows)


def as_trained(df: pd.DataFrame) -> pd.DataFrame:
    """Return ``df`` as our training runs it: without the fused step timed only for comparison in runs that train the
    ModelZoo structure, and without other implementations' records (``--impl``)."""
    b9_runs = set(df[df.structure == THREE_GRAPH].run_id)
    return df[~((df.structure == FUSED) & df.run_id.isin(b9_runs)) & df.impl.isna()]


def impl_table(df: pd.DataFrame, claims: dict) -> pd.DataFrame:
    """Return per (preset, scale, phase, devices, batch) the median step of pgan_ref's fused graph, pgan_ref's
    ModelZoo three-graph structure, the ModelZoo's own code (``--impl modelzoo-code``) and pytorch_GAN_zoo
    (``--impl pytorch-gan-zoo``), pooled over runs; each one's ratio to the reference column ``ref`` (the ModelZoo
    code where it was timed, else pytorch_GAN_zoo) and the card's per-step figure; rows only where a reference was
    timed."""
    steps = df[df.metric == "step_time"].assign(impl=implementation(df), structure=df.structure.fillna(FUSED))
    rows = []
    for (preset, scale, phase, devices, batch), g in steps.groupby(["preset", "scale", "phase", "devices",
                                                                    "batch_size"]):
        picked = {name: g[(g.impl == impl) & (g.structure == structure)]
                  for name, (impl, structure) in IMPL_COLUMNS.items()}
        ref = next((name for name in REFERENCES if not picked[name].empty), None)
        if ref is None:
            continue
        med = {name: float(np.median(pooled(p))) if len(p) else math.nan for name, p in picked.items()}
        rows.append({"preset": preset, "scale": scale, "phase": phase, "devices": devices, "batch": batch,
                     **{f"{name} (s)": v for name, v in med.items()}, "ref": ref,
                     **{f"{name} / ref": med[name] / med[ref] for name in IMPL_COLUMNS if name != REFERENCES[0]},
                     "runs (fused, 3-graph, ModelZoo, pgz)": ", ".join(str(p.run_id.nunique())
                                                                        for p in picked.values()),
                     "pgan_ref variant": distinct(g[g.impl == OURS].variant),
                     "card per-step claim": card_per_step(claims)})
    return pd.DataFrame(rows)


def speedup_table(steps: pd.DataFrame) -> pd.DataFrame:
    """Return throughput speed-up and efficiency of Np over 1p per (preset, scale, phase, batch)."""
    rows = []
    for (preset, scale, phase, batch, _, _, _), g in steps.groupby(["preset", "scale", "phase", "batch", "timer",
                                                                    "structure", "impl"], dropna=False):
        one = g[g.devices == 1]
        for _, row in g[g.devices > 1].iterrows():
            if len(one):
                speedup = row["images/s"] / one["images/s"].iloc[0]
                rows.append({"preset": preset, "impl": row.impl, "scale": scale, "phase": phase, "batch": batch,
                             "devices": row.devices,
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


def projections(df: pd.DataFrame, claims: dict) -> list[tuple[dict, Judgement]]:
    """Return per (preset, device count) the projected total training time, summed over scales, and its verdict."""
    steps = df[(df.metric == "step_time") & df.iterations.notna()]
    card_total = {e["devices"]: e["seconds"] for e in claims.get("total_time", [])}
    card_device = claims.get("device")
    rows = []
    for (preset, devices), g in steps.groupby(["preset", "devices"]):
        parts = [_scale_time(s) for _, s in g.groupby("scale")]
        its, total, lo, hi = (sum(p[i] for p in parts) for i in range(4))
        claim = card_total.get(devices, math.nan)
        same = card_device is not None and card_device in set(g.device)
        rows.append(({"preset": preset, "devices": devices,
                      "scales": ", ".join(f"{s:g}" for s in sorted(g.scale.unique())),
                      "iterations": int(its), "projected": hms(total), "interval": f"{hms(lo)} .. {hms(hi)}",
                      "mean s/it": total / its, "card total": hms(claim),
                      "card s/it (card schedule)": claim / card_iterations(devices),
                      "ratio ours/card": total / claim}, card_check.projected_total(claim, lo, hi, same)))
    return rows


def projection_table(df: pd.DataFrame, claims: dict) -> pd.DataFrame:
    """Return the projected total training time per (preset, device count) vs the card, with the verdict's text."""
    return pd.DataFrame([{**row, "verdict": j.text} for row, j in projections(df, claims)])


def card_iterations(devices: int) -> int:
    """Return the iterations of the card's own schedule (preset ``modelzoo-910``) on ``devices`` devices."""
    return sum(r["iterations"] for r in schedule_summary(load_config(preset=CARD_PRESET), int(devices)))


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
                     "verdict": card_check.in_range(judged * factor, card, factor, what).text})
    return pd.DataFrame(rows)


def _skipped(df: pd.DataFrame, scale, batch, network: str) -> int:
    """Return the updates of ``network`` skipped on loss-scale overflow (B4) at one scale and batch."""
    rows = df[(df.metric == "skipped_updates") & (df.scale == scale) & (df.batch_size == batch) & (df.network == network)]
    return int(rows.value.sum())


def loss_summary(df: pd.DataFrame, claims: dict) -> list[tuple[str, Judgement]]:
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
            out.append((f"{name}: no data" if not x.size else f"{name}: mixed batch sizes", card_check.NONE))
            continue
        ours = (f"{name}: [{x.min():.4g} to {x.max():.4g}] over {x.size} steps at {g.scale.min():g}-"
                f"{g.scale.max():g}px (p1..p99 {np.percentile(x, 1):.4g} to {np.percentile(x, 99):.4g})")
        card = claims.get("loss_ranges", {}).get(name)
        out.append((ours, card_check.prefixed(f"{name}: ", card_check.in_range(x * factor, card, factor))))
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
        manifest, ci = r.manifest or {}, r.ci
        n = r.labels.get("n", len(r.samples))
        rows.append({"run": r.run_id, "FID": r.value, "bootstrap CI": f"[{ci[0]:.4g}, {ci[1]:.4g}]" if ci else "n/a",
                     "KID": kid.get(snapshot(r), math.nan), "n": n,
                     "preprocess": r.labels.get("preprocess", "n/a"),
                     "manifest sha256": manifest_sha256(manifest)[:12] if manifest else "n/a",
                     "flags": ", ".join(r["flags"] + quality_flags(r.metric, n, manifest))})
    return pd.DataFrame(rows)


def latency_model(scenario: str, labels: dict) -> str:
    """Return what a latency row timed: the user's MindIR file ('user MindIR NAME (sha256 prefix)'), the harness's own
    export ('harness-exported G16'), or another implementation's label ('n/a' when there is none)."""
    if labels.get("mindir_sha256"):
        return f"{labels.get('impl') or 'user MindIR ' + str(labels.get('mindir'))} ({labels['mindir_sha256'][:12]})"
    if labels.get("impl"):
        return str(labels["impl"])
    if scenario == "mindir-latency":
        return "harness-exported G" + _text(labels["scale"]) if labels.get("scale") else "harness-exported G"
    return "n/a"


def latency_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Return the latency records with a ``model`` column (``latency_model``): the user's files apart from exports."""
    lat = df[df.metric == "latency"]
    return lat.assign(model=[latency_model(s, lab) for s, lab in zip(lat.scenario, lat.labels)])


def latency_table(df: pd.DataFrame) -> pd.DataFrame:
    """Return latency statistics per (model, runtime, batch, source); single samples are flagged 'one-sample'."""
    rows = []
    for (model, runtime, batch, source), g in latency_frame(df).groupby(["model", "runtime", "batch_size", "source"],
                                                                       dropna=False):
        x = pooled(g)
        q1, med, q3, p90, p99 = np.percentile(x, [25, 50, 75, 90, 99])
        flags = sorted(set().union(*g["flags"]) | ({"one-sample"} if x.size == 1 else set()))
        rows.append({"model": model, "runtime": runtime, "batch": batch, "source": source, "n": x.size,
                     "median (ms)": med, "IQR (ms)": q3 - q1, "p90 (ms)": p90, "p99 (ms)": p99,
                     "images/s": batch * 1000 / med if batch else math.nan, "flags": ", ".join(flags)})
    return pd.DataFrame(rows)


def measured_step(df: pd.DataFrame) -> dict[str, tuple[float, float, float, np.ndarray]]:
    """Return per 'Np preset' the step-time median, CI and samples at the largest measured scale (stable phase)."""
    steps = df[df.metric == "step_time"]
    out = {}
    for (devices, preset), g in steps.groupby(["devices", "preset"]):
        top = g[g.scale == g.scale.max()]
        top = top[top.phase == "stable"] if (top.phase == "stable").any() else top
        out[f"{devices}p {preset} @{top.scale.max():g}px"] = (*stats.bootstrap_median_ci(pooled(top)), pooled(top))
    return out
