"""The regression gate: judge current entries against baseline entries (timing, loss envelope, FID CI)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np

from harness.judge import stats
from harness.judge.entries import LOSS_METRICS, PROTOCOL_FIELDS, key_without_manifest, machine_fingerprints, protocol
from harness.judge.verdicts import Verdict, gate_exit_code
from harness.records.machine import FINGERPRINT_FIELDS, machine_fields

HIGHER_IS_BETTER_UNITS = ("images/s", "FLOP/s")


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
    verdict: Verdict
    reason: str
    threshold: float = math.nan


def _label_text(labels: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted(labels.items()) if k != "manifest")


def _median(samples: list[float]) -> float:
    xs = stats.finite(samples)
    return float(np.median(xs)) if xs.size else math.nan


def _row(b: dict, c: dict, v: stats.Comparison | None = None, **kw) -> Row:
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
        return _row(b, c, verdict=Verdict.INCONCLUSIVE, reason="no finite losses to compare")
    lo, hi = base.min(), base.max()
    lo, hi = lo - margin * (hi - lo), hi + margin * (hi - lo)
    outside = int(((cur < lo) | (cur > hi)).sum())
    bad_base, bad_cur = len(b["samples"]) - base.size, len(c["samples"]) - cur.size
    if bad_cur > bad_base:
        return _row(b, c, verdict=Verdict.REGRESSED, reason=f"{bad_cur} NaN/inf losses (baseline {bad_base})")
    if outside:
        return _row(b, c, verdict=Verdict.REGRESSED,
                    reason=f"{outside} of {cur.size} outside envelope [{lo:.4g}, {hi:.4g}]")
    return _row(b, c, verdict=Verdict.NO_CHANGE, reason=f"all {cur.size} within [{lo:.4g}, {hi:.4g}]")


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
        return _row(b, c, verdict=Verdict.INCOMPARABLE, reason="FID protocol manifests differ")
    lo, hi = fid_ci(b, threshold)
    cur = _median(c["samples"])
    verdict = Verdict.REGRESSED if cur > hi else Verdict.IMPROVED if cur < lo else Verdict.NO_CHANGE
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
    unmatched = {key_without_manifest(base[k]): base[k] for k in set(base) - set(current)}
    for key in sorted(set(current) - set(base)):
        b = unmatched.get(key_without_manifest(current[key]))
        if b is not None and (not wanted or b["metric"] in wanted):
            rows.append(_row(b, current[key], verdict=Verdict.INCOMPARABLE, reason="protocol manifests differ"))
    return rows


def exit_code(rows: list[Row]) -> int:
    """Return 2 if any row is incomparable, else 1 if any regressed, else 3 if any inconclusive, else 0."""
    return gate_exit_code(r.verdict for r in rows)


def threshold_function(requested: float, calib: dict | None) -> Callable[[str], float]:
    """Return key -> threshold: max(requested, k x A/A noise of that entry, or the overall noise)."""
    if not calib:
        return lambda key: requested
    noise = {e["key"]: e["noise"] for e in calib["entries"]}
    return lambda key: stats.calibrated_threshold(requested, noise.get(key, calib["noise_overall"]), calib["k"])
