"""The model card's own table: per card row the card's claim, our measurement and the row's judgement."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from harness.judge import card_check
from harness.judge.card_check import NO_CLAIM, NONE, NOT_COMPARABLE, joined, prefixed
from harness.judge.modelcard import ROW_NAMES
from harness.report.tables import (CARD_PRESET, LOSS_NAMES, card_iterations, distinct, hms, loss_summary, measured_step,
    projections)
from harness.judge.verdicts import Judgement

# MS-SSIM is not on the Ascend card; the ModelZoo PGAN's GPU card claims this value on CelebA (its own claim).
GPU_CARD_MS_SSIM = "none on this card; the ModelZoo GPU card claims MS-SSIM 0.2948 (that card's claim, GPU column)"


@dataclass(frozen=True)
class CardRow:
    """One row of the card's table: its label, the card's claim, our measurement and the judgement."""

    key: str
    label: str
    claim: str
    ours: str
    judgement: Judgement


def card_check_rows(df: pd.DataFrame, claims: dict) -> list[CardRow]:
    """Return the model card's rows (card order and labels) with our measurement and a judgement each."""
    train = df[df.metric.isin(["step_time", *LOSS_NAMES])]
    train = train if len(train) else df
    same_device = claims.get("device") in set(train.device)
    card_rows_ = claims.get("rows", {})
    total_claims = "; ".join(e["raw"] for e in claims.get("total_time", []))
    timing_claims = "; ".join(e["raw"] for k in ("total_time", "step_time") for e in claims.get(k, []))
    rows: list[CardRow] = []

    def add(key: str, ours: str, judgement: Judgement = NONE, claim: str = "—"):
        row = card_rows_.get(key, {})
        rows.append(CardRow(key, row.get("label", ROW_NAMES[key][0]), row.get("raw", claim), ours, judgement))

    add("model_version", f"PGAN (pgan_ref, variant {distinct(df.variant)})")
    add("resource", f"{distinct(train.device)} ({distinct(train.cpu)})" if "CPU" in set(train.device)
        else distinct(train.device), card_check.device(same_device))
    add("uploaded_date", f"measured {distinct(pd.Series(df.time_start).str[:10])}")
    ms = distinct(df.mindspore)
    add("mindspore_version", ms, card_check.mindspore_version(ms, claims.get("mindspore_version")))
    dataset = distinct([p.get("dataset") for p in df.params])
    add("dataset", dataset.replace("n/a", "not recorded"), card_check.same_text(dataset, claims.get("dataset")))
    add("training_parameters", *_batch_row(train, claims))
    optimizer = distinct([p.get("optimizer") for p in df.params])
    add("optimizer", optimizer.replace("n/a", "not recorded"),
        card_check.same_text(optimizer.split("(")[0], claims.get("optimizer")))
    add("outputs", "image" if df.metric.isin(["fid", "latency"]).any() else "—")
    add("speed", *_speed_row(train, claims, same_device))
    projected = projections(train, claims)
    add("total_time", "; ".join(f"{r['devices']}p {r['preset']}: {r['projected']} ({r['interval']})"
                                for r, _ in projected) or "not measured",
        joined([prefixed(f"{r['devices']}p {r['preset']}: ", j) for r, j in projected]), total_claims)
    add("schedule", *_schedule_row(train, claims), timing_claims)
    losses = loss_summary(df, claims)
    add("loss", "; ".join(o for o, _ in losses) or "not measured", joined([j for _, j in losses]))
    add("ms_ssim", _ms_ssim_row(df), NONE, GPU_CARD_MS_SSIM)
    add("scripts", f"pgan-harness @ {distinct(pd.Series(df.git_commit).str[:10])}")
    return rows


def card_rows(df: pd.DataFrame, claims: dict) -> pd.DataFrame:
    """Return the model card's table with our measurement and the verdict's sentence per row."""
    return pd.DataFrame([(r.label, r.claim, r.ours, r.judgement.text) for r in card_check_rows(df, claims)],
                        columns=[claims.get("header", "Parameters"), "card claim", "our measurement", "verdict"])


def _ms_ssim_row(df: pd.DataFrame) -> str:
    """Return MS-SSIM of generated (and real) pairs at the most trained snapshot, with scale, images seen, pairs."""
    ours = df[df.metric.isin(["ms_ssim_fake", "ms_ssim_real"])]
    if ours.empty:
        return "not measured"
    seen = ours.labels.map(lambda lab: lab.get("images_seen") or 0)
    last = ours[seen == seen.max()].sort_values("metric")
    return "; ".join(f"{r.metric.replace('ms_ssim_', '')} pairs {r.value:.4f} ({r.labels.get('pairs')} pairs, "
                     f"{r.labels.get('scale')} px, {r.labels.get('images_seen')} images seen)" for r in last.itertuples())


def _batch_row(df: pd.DataFrame, claims: dict) -> tuple[str, Judgement]:
    batches = {int(b) for b in df.batch_size.dropna()}
    lrs = {float(p["lr"]) for p in df.params if p.get("lr") is not None}
    ours = f"batch_size={distinct(sorted(batches))} per device x {distinct(df.devices)} devices, lr={distinct(lrs)}"
    return ours, card_check.batch(batches, lrs, claims)


def _speed_row(df: pd.DataFrame, claims: dict, same_device: bool) -> tuple[str, Judgement]:
    measured = measured_step(df)
    if not measured:
        return "not measured", NONE
    ours = "; ".join(f"{d}: {m:.4g} s/step [{lo:.4g}, {hi:.4g}]" for d, (m, lo, hi, _) in measured.items())
    claim = next((e["seconds"] for e in claims.get("step_time", [])), None)
    if claim is None:
        return ours, NO_CLAIM
    if not same_device:
        return ours, NOT_COMPARABLE
    return ours, joined([prefixed(f"{d}: ", card_check.step_time(x, claim)) for d, (*_, x) in measured.items()])


def _schedule_row(df: pd.DataFrame, claims: dict) -> tuple[str, Judgement]:
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
        return ours or "no schedule recorded", NONE
    parts = []
    for d, seconds in totals.items():
        implied = seconds / card_its[d]
        parts.append(prefixed(f"{d}p: {hms(seconds)} / {card_its[d]:,} it = {implied:.3f} s/it vs card "
                              f"{per_step:g} s/step: ", card_check.card_schedule(per_step, implied)))
    return ours, joined(parts)
