"""The report's rendering: sections of markdown around the tables, and the CSV / JSON / PNG files beside it."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

from harness.ab.table import ab_table
from harness.judge.modelcard import CARD_LOG_EVERY, card_claims
from harness.report import plots
from harness.report.card_table import card_rows
from harness.report.tables import (FID_PROTOCOL_N, LOSS_NAMES, as_trained, card_per_step, card_stride, distinct,
    fid_table, impl_table, latency_frame, latency_table, loss_table, projection_table, quality_table, records_frame,
    speedup_table, step_table, structure_table)
from pgan_ref.fileio import replaced_atomically, write_text_atomic

RECORDS_CSV_DROPPED = ["samples", "labels", "params", "manifest", "ci"]  # nested: in report.json's records


@dataclass
class Section:
    """One report section: a title, markdown body, tables to export and plots to link."""

    title: str
    body: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


def context_line(df: pd.DataFrame) -> str:
    """Return the device / software / protocol line every table carries."""
    cpu = f" ({distinct(df.cpu)})" if "CPU" in set(df.device) else ""
    return (f"*Device*: {distinct(df.device)}{cpu}, devices {distinct(df.devices)} · *software*: MindSpore "
            f"{distinct(df.mindspore)}, CANN {distinct(df.cann)} · *protocol*: preset {distinct(df.preset)}, "
            f"variant {distinct(df.variant)}, batch {distinct(df.batch_size)}")


def _table(df: pd.DataFrame) -> str:
    return df.to_markdown(index=False, floatfmt=".4g")


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
    peaks = distinct(df[df.metric == "step_time"].peak)
    body = (f"{context_line(df[df.metric == 'step_time'])}\n\nGFLOP/s: the model's own FLOP count per iteration "
            f"(convolutions and linear layers) / median step; % of peak against the CPU's nominal fp32 peak: "
            f"{peaks}.\n\n{_table(table)}")
    tables = {"step_time": table}
    structures = structure_table(df, claims)
    if not structures.empty:
        body += ("\n\nStep structure (B9): our fused graph vs the ModelZoo's three graph calls with host-side EMA, "
                 f"timed side by side in one run (the card's figure is the ModelZoo structure).\n\n{_table(structures)}")
        tables["step_structure"] = structures
    impls = impl_table(df, claims)
    if not impls.empty:
        body += ("\n\nImplementations (`step-time --impl`): pgan_ref's fused graph and its ModelZoo three-graph "
                 "structure beside the ModelZoo's own training code (`--impl modelzoo-code`, its `train.py` loop body) "
                 "and pytorch_GAN_zoo (`--impl pytorch-gan-zoo`, its `optimizeParameters`), on the same network and "
                 "batch, medians pooled over runs, each one's ratio to the reference `ref` (the ModelZoo code where "
                 "it was timed, else pytorch_GAN_zoo); the card's per-step figure is the ModelZoo code's step on its "
                 "own device. Time them alternately, process by process, and pgan_ref with `--variant modelzoo` (the "
                 f"same network).\n\n{_table(impls)}")
        tables["implementations"] = impls
    speed = speedup_table(table)
    if not speed.empty:
        shared = (f" On CPU the ranks share one machine's {distinct(df.cpu_count)} cores: this measures the data-parallel "
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
    per_step = card_per_step(claims)
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
    png = plots.latency_plot(latency_frame(df), out / "latency.png")
    body = (f"{context_line(df[df.metric == 'latency'])}\n\n'model' says what was timed: a MindIR the harness "
            f"exported from the generator, or the user's own file (`--set mindir=FILE`, timed as it is; its sha256 "
            f"prefix in brackets). 'one-sample' rows (e.g. ingested Ascend 310 `time_Result` numbers) are a single "
            f"timed call without warm-up.\n\n")
    return Section("Inference latency", body + _table(table) + f"\n\n![latency]({png.name})", {"latency": table})


def _section_ab(df, claims, out) -> Section | None:
    summaries = df[df.metric == "ab_ratio"]
    if summaries.empty:
        return None
    table = ab_table(summaries.to_dict("records"), runs=True)
    body = (f"{context_line(summaries)}\n\n`pgan-harness ab`: base and head revisions measured side by side in one "
            f"run; ratio = head / base step (geometric mean over blocks) with the interval of its last look, "
            f"one-sided t p, and MDE95, the smallest slowdown each entry detects with 95% power.\n\n")
    return Section("A/B comparisons", body + _table(table), {"ab": table})


SECTIONS: list[tuple[str, Callable]] = [
    ("no model-card baseline given (--baseline FILE from `baseline --from-model-card`)", _section_card),
    ("no step_time records", _section_steps),
    ("no step_time records with an `iterations` label", _section_projection),
    ("no loss_g / loss_d records", _section_losses),
    ("no fid records", _section_fid),
    ("no quality-scenario records", _section_quality),
    ("no latency records", _section_latency),
    ("no A/B records", _section_ab),
]


def _write_csv(table: pd.DataFrame, path: Path) -> None:
    with replaced_atomically(path) as tmp:
        table.to_csv(tmp, index=False)


HISTORY_NOTE = "no performance history (`pgan-harness history run`; `report --history DIR`)"


def _section_history(trend: pd.DataFrame) -> Section:
    body = ("`pgan-harness history`: each commit's step time as a ratio to its anchor, measured in the same duet "
            "A/B run, along the first-parent line; per anchor and entry (CPU time) the segments PELT finds, each as "
            "mean ratio (first..last commit, commits), the cumulative change (last segment / first), the change "
            "points (step, 95% CI, permutation p; 'regression' when significant and beyond detect's minimum step) "
            "and the alarms (regression or creep after the last accepted change).\n\n")
    return Section("Performance history", body + trend.to_markdown(index=False, disable_numparse=True),
                   {"history_trend": trend})


def write_report(records: list[dict], out: str | Path, baseline: dict | None = None,
                 trend: pd.DataFrame | None = None) -> Path:
    """Write report.md, CSV/JSON of the data and the PNG plots to ``out``; return the report path. ``trend`` is
    the history's trend table (``harness.history.trend.table``), its section omitted when None or empty."""
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
    if trend is None or trend.empty:
        parts += [f"*{HISTORY_NOTE}: section omitted.*", ""]
    else:
        section = _section_history(trend)
        parts += [f"## {section.title}", "", section.body, ""]
        tables.update(section.tables)
    for name, table in tables.items():
        _write_csv(table, out / f"{name}.csv")
    _write_csv(df.drop(columns=RECORDS_CSV_DROPPED, errors="ignore"), out / "records.csv")
    write_text_atomic(out / "report.json", json.dumps({"tables": {k: t.to_dict("records") for k, t in tables.items()},
                                                       "records": records}, default=str, indent=1, allow_nan=True))
    parts += ["Data: [records.csv](records.csv), [report.json](report.json)"
              + "".join(f", [{k}.csv]({k}.csv)" for k in tables), ""]
    return write_text_atomic(out / "report.md", "\n".join(parts))
