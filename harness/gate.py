"""Measured baselines, A/A calibration and the regression gate: compare records entry by entry."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np
import pandas as pd

from . import stats
from .modelcard import FORMAT
from .records import FINGERPRINT_FIELDS, _dig, fingerprint, utc_now

INCOMPARABLE = "incomparable"
EXIT_CODES = {INCOMPARABLE: 2, stats.REGRESSED: 1, stats.INCONCLUSIVE: 3}  # worst first; otherwise 0
HIGHER_IS_BETTER_UNITS = ("images/s", "FLOP/s")
LOSS_METRICS = ("loss_g", "loss_d", "gp", "drift")
PROTOCOL_FIELDS = ("preset", "variant", "device")


FID_CI_PATHS = ("ci", "params.ci", "params.fid_bootstrap.ci", "labels.fid_bootstrap.ci")


def identity_labels(labels: dict) -> dict:
    """Return the labels that identify a measurement (list values are per-sample metadata such as steps)."""
    return {k: v for k, v in (labels or {}).items() if not isinstance(v, list) and k != "fid_bootstrap"}


def entry_key(rec: dict) -> str:
    """Return the identity of a measurement across runs: scenario, metric and identity labels (stable JSON)."""
    return json.dumps([rec["scenario"], rec["metric"], identity_labels(rec.get("labels"))], sort_keys=True,
                      default=str)


def _samples(rec: dict) -> list[float]:
    if rec.get("samples"):
        return list(rec["samples"])
    return [] if rec.get("value") is None else [rec["value"]]


def group_entries(records: Iterable[dict]) -> dict[str, dict]:
    """Return entries keyed by ``entry_key``: raw samples pooled over records, with unit, labels, run ids."""
    out: dict[str, dict] = {}
    for rec in records:
        e = out.setdefault(entry_key(rec), {
            "scenario": rec["scenario"], "metric": rec["metric"], "unit": rec["unit"],
            "labels": identity_labels(rec.get("labels")), "samples": [], "run_ids": [], "flags": [],
            "manifest": _dig(rec, "labels.manifest") or _dig(rec, "params.manifest"),
            "ci": next((_dig(rec, p) for p in FID_CI_PATHS if _dig(rec, p)), None)})
        e["samples"] += _samples(rec)
        e["run_ids"] = sorted(set(e["run_ids"]) | {rec["run_id"]})
        e["flags"] = sorted(set(e["flags"]) | set(rec.get("flags") or []))
    return out


def machine_fields(meta: dict) -> dict:
    """Return the non-volatile machine-identifying fields of a record's ``meta``."""
    return {f: _dig(meta, f) for f in FINGERPRINT_FIELDS}


def protocol(records: list[dict]) -> dict:
    """Return the protocol of a set of records: preset, variant, device, and the batch sizes and device counts."""
    params = [r.get("params") or {} for r in records]
    labels = [r.get("labels") or {} for r in records]
    out = {f: sorted({str(p.get(f) if p.get(f) is not None else r["meta"].get(f)) for p, r in zip(params, records)})
           for f in PROTOCOL_FIELDS}
    out["batch_size"] = sorted({lab["batch_size"] for lab in labels if "batch_size" in lab})
    out["devices"] = sorted({int(lab.get("devices", p.get("devices", 1)) or 1) for lab, p in zip(labels, params)})
    return out


def machine_fingerprints(records: list[dict]) -> list[str]:
    """Return the distinct machine fingerprints of the records, recomputed so volatile fields never count."""
    return sorted({fingerprint(r["meta"]) for r in records})


def build_measured_baseline(records: list[dict], sources: list[str] = ()) -> dict:
    """Return a measured baseline: per-entry raw samples, the machine fingerprint and the protocol."""
    if not records:
        raise ValueError("no records to build a baseline from")
    prints = machine_fingerprints(records)
    if len(prints) > 1:
        raise ValueError(f"records come from {len(prints)} different machines: {', '.join(prints)}")
    return {"format": FORMAT, "kind": "measured", "created": utc_now(), "machine_fingerprint": prints[0],
            "machine": machine_fields(records[0]["meta"]), "protocol": protocol(records),
            "source": {"results": [str(s) for s in sources], "run_ids": sorted({r["run_id"] for r in records})},
            "entries": list(group_entries(records).values())}


def comparability(base: dict, records: list[dict], allow_machine_mismatch: bool = False) -> list[str]:
    """Return why ``records`` cannot be gated against the measured baseline ``base`` (empty if they can)."""
    problems = []
    prints = machine_fingerprints(records)
    if prints != [base["machine_fingerprint"]] and not allow_machine_mismatch:
        cur = machine_fields(records[0]["meta"])
        moved = {f: (base["machine"].get(f), cur.get(f)) for f in FINGERPRINT_FIELDS
                 if base["machine"].get(f) != cur.get(f)}
        problems.append(f"machine fingerprint {', '.join(prints)} != baseline {base['machine_fingerprint']}"
                        + (f"; differing fields (baseline, current): {moved}" if moved else ""))
    proto, cur = base["protocol"], protocol(records)
    for f in PROTOCOL_FIELDS:
        if cur[f] != proto.get(f):
            problems.append(f"protocol {f}: baseline {proto.get(f)} vs current {cur[f]}")
    for f in ("batch_size", "devices"):
        extra = set(cur[f]) - set(proto.get(f, []))
        if extra:
            problems.append(f"protocol {f}: current has {sorted(extra)} not in baseline {proto.get(f)}")
    return problems


@dataclass(frozen=True)
class Row:
    """One line of a gate table: what was compared, by how much it moved, and the verdict."""

    metric: str
    labels: str
    unit: str
    base: float
    current: float
    ratio: float
    ci_low: float
    ci_high: float
    pvalue: float
    verdict: str
    reason: str
    threshold: float = math.nan


def _label_text(labels: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted(labels.items()) if k != "manifest")


def _median(samples: list[float]) -> float:
    xs = stats.finite(samples)
    return float(np.median(xs)) if xs.size else math.nan


def _row(b: dict, c: dict, v: stats.Verdict | None = None, **kw) -> Row:
    values = dict(base=_median(b["samples"]), current=_median(c["samples"]), ratio=math.nan, ci_low=math.nan,
                  ci_high=math.nan, pvalue=math.nan)
    if v is not None:
        values.update(ratio=v.ratio, ci_low=v.ci_low, ci_high=v.ci_high, pvalue=v.pvalue, verdict=v.verdict,
                      reason=v.reason, threshold=v.threshold)
    values.update(kw)
    return Row(metric=b["metric"], labels=_label_text(b["labels"]), unit=b["unit"], **values)


def timing_gate(b: dict, c: dict, threshold: float, seed: int = 0, **_) -> Row:
    """Return the verdict on a timing entry (throughput units are compared as time per unit)."""
    flip = b["unit"] in HIGHER_IS_BETTER_UNITS
    conv = (lambda xs: [1 / x for x in stats.finite(xs) if x > 0]) if flip else stats.finite
    v = stats.verdict(conv(b["samples"]), conv(c["samples"]), threshold=threshold, seed=seed)
    return _row(b, c, v)


def loss_gate(b: dict, c: dict, margin: float = 0.1, **_) -> Row:
    """Return a regression if current losses leave the baseline envelope widened by ``margin`` of its width."""
    base, cur = stats.finite(b["samples"]), stats.finite(c["samples"])
    if not base.size or not cur.size:
        return _row(b, c, verdict=stats.INCONCLUSIVE, reason="no finite losses to compare")
    lo, hi = base.min(), base.max()
    lo, hi = lo - margin * (hi - lo), hi + margin * (hi - lo)
    outside = int(((cur < lo) | (cur > hi)).sum())
    bad_base, bad_cur = len(b["samples"]) - base.size, len(c["samples"]) - cur.size
    if bad_cur > bad_base:
        return _row(b, c, verdict=stats.REGRESSED, reason=f"{bad_cur} NaN/inf losses (baseline {bad_base})")
    if outside:
        return _row(b, c, verdict=stats.REGRESSED,
                    reason=f"{outside} of {cur.size} outside envelope [{lo:.4g}, {hi:.4g}]")
    return _row(b, c, verdict=stats.NO_CHANGE, reason=f"all {cur.size} within [{lo:.4g}, {hi:.4g}]")


def fid_ci(entry: dict, threshold: float) -> tuple[float, float]:
    """Return the baseline FID interval: the record's ``ci``, a bootstrap CI over samples, or +-threshold."""
    if entry.get("ci"):
        return tuple(entry["ci"])
    xs = stats.finite(entry["samples"])
    if xs.size > 1:
        return stats.bootstrap_median_ci(xs)[1:]
    return (xs[0] / (1 + threshold), xs[0] * (1 + threshold)) if xs.size else (math.nan, math.nan)


def fid_gate(b: dict, c: dict, threshold: float, **_) -> Row:
    """Return a regression if the current FID is above the baseline's CI (never across FID manifests)."""
    if b.get("manifest") and c.get("manifest") and b["manifest"] != c["manifest"]:
        return _row(b, c, verdict=INCOMPARABLE, reason="FID protocol manifests differ")
    lo, hi = fid_ci(b, threshold)
    cur = _median(c["samples"])
    verdict = stats.REGRESSED if cur > hi else stats.IMPROVED if cur < lo else stats.NO_CHANGE
    return _row(b, c, verdict=verdict, ratio=cur / _median(b["samples"]), ci_low=lo,
                ci_high=hi, reason=f"current {cur:.3f} vs baseline CI [{lo:.3f}, {hi:.3f}]")


GATES: dict[str, Callable[..., Row]] = {**{m: loss_gate for m in LOSS_METRICS}, "fid": fid_gate}


def compare_entries(base: dict[str, dict], current: dict[str, dict], threshold_for: Callable[[str], float],
                    metrics: Iterable[str] | None = None, loss_margin: float = 0.1, seed: int = 0) -> list[Row]:
    """Return one gate row per entry in both sets, and an incomparable row per entry whose manifest changed."""
    wanted = set(metrics) if metrics else None
    rows = []
    for key in sorted(set(base) & set(current)):
        b, c = base[key], current[key]
        if wanted and b["metric"] not in wanted:
            continue
        gate = GATES.get(b["metric"], timing_gate)
        rows.append(gate(b, c, threshold=threshold_for(key), margin=loss_margin, seed=seed))
    unmatched = {_without_manifest(base[k]): base[k] for k in set(base) - set(current)}
    for key in sorted(set(current) - set(base)):
        b = unmatched.get(_without_manifest(current[key]))
        if b is not None and (not wanted or b["metric"] in wanted):
            rows.append(_row(b, current[key], verdict=INCOMPARABLE, reason="protocol manifests differ"))
    return rows


def _without_manifest(entry: dict) -> str:
    labels = {k: v for k, v in entry["labels"].items() if k != "manifest"}
    return json.dumps([entry["scenario"], entry["metric"], labels], sort_keys=True, default=str)


def exit_code(rows: list[Row]) -> int:
    """Return 2 if any row is incomparable, else 1 if any regressed, else 3 if any inconclusive, else 0."""
    verdicts = {r.verdict for r in rows}
    return next((code for v, code in EXIT_CODES.items() if v in verdicts), 0)


def rows_table(rows: list[Row]) -> str:
    """Return the gate rows as a compact markdown table."""
    if not rows:
        return "(nothing to compare)"
    df = pd.DataFrame([r.__dict__ for r in rows])
    df["ratio [CI]"] = [f"{r:.3f} [{lo:.3f}, {hi:.3f}]" if math.isfinite(r) else "-"
                        for r, lo, hi in zip(df.ratio, df.ci_low, df.ci_high)]
    df["p"] = [f"{p:.2g}" if math.isfinite(p) else "-" for p in df.pvalue]
    df["threshold"] = [f"{t:.0%}" if math.isfinite(t) else "-" for t in df.threshold]
    cols = ["metric", "labels", "unit", "base", "current", "ratio [CI]", "p", "threshold", "verdict", "reason"]
    return df[cols].to_markdown(index=False, floatfmt=".4g")


def calibration(run_records: list[list[dict]], k: float = 1.0, quantile: float = 0.99, seed: int = 0) -> dict:
    """Return a calibration: A/A noise per timing entry and overall from records of repeated identical runs."""
    runs = [group_entries(recs) for recs in run_records]
    prints = machine_fingerprints([r for recs in run_records for r in recs])
    per_key, all_pairs = [], []
    for key in sorted(set.intersection(*(set(r) for r in runs))):
        first = runs[0][key]
        if first["metric"] in GATES:
            continue
        pairs = [(a[key]["samples"], b[key]["samples"]) for a, b in zip(runs, runs[1:])]
        all_pairs += pairs
        per_key.append({"key": key, "metric": first["metric"], "labels": first["labels"],
                        "noise": stats.aa_noise(pairs, quantile, seed=seed), "n_pairs": len(pairs)})
    return {"format": FORMAT, "kind": "calibration", "created": utc_now(), "machine_fingerprint": prints,
            "k": k, "quantile": quantile, "entries": per_key,
            "noise_overall": stats.aa_noise(all_pairs, quantile, seed=seed)}


def threshold_function(requested: float, calib: dict | None) -> Callable[[str], float]:
    """Return key -> threshold: max(requested, k x A/A noise of that entry, or the overall noise)."""
    if not calib:
        return lambda key: requested
    noise = {e["key"]: e["noise"] for e in calib["entries"]}
    return lambda key: stats.calibrated_threshold(requested, noise.get(key, calib["noise_overall"]), calib["k"])
