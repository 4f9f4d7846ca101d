"""Records grouped into comparable entries: identity key, pooled samples, CI, manifest, protocol, machine."""
from __future__ import annotations

import json
from typing import Iterable

from harness.records.machine import fingerprint
from harness.records.schema import Record

LOSS_METRICS = ("loss_g", "loss_d", "gp", "drift")
UNTIMED_METRICS = (*LOSS_METRICS, "fid")  # judged by their own rules, never as timings
PROTOCOL_FIELDS = ("preset", "variant", "device")


def identity_labels(labels: dict) -> dict:
    """Return the labels that identify a measurement (list values are per-sample metadata such as steps)."""
    return {k: v for k, v in (labels or {}).items() if not isinstance(v, list) and k != "fid_bootstrap"}


def entry_key(scenario: str, metric: str, labels: dict) -> str:
    """Return the identity of a measurement across runs: scenario, metric and identity labels (stable JSON)."""
    return json.dumps([scenario, metric, identity_labels(labels)], sort_keys=True, default=str)


def key_without_manifest(entry: dict) -> str:
    """Return an entry's key with its protocol manifest left out (to find the entry a manifest change moved)."""
    return entry_key(entry["scenario"], entry["metric"], {k: v for k, v in entry["labels"].items() if k != "manifest"})


def group_entries(records: Iterable[dict]) -> dict[str, dict]:
    """Return entries keyed by ``entry_key``: raw samples pooled over records, with unit, labels, run ids."""
    out: dict[str, dict] = {}
    for rec in map(Record.from_dict, records):
        e = out.setdefault(entry_key(rec.scenario, rec.metric, rec.labels), {
            "scenario": rec.scenario, "metric": rec.metric, "unit": rec.unit,
            "labels": identity_labels(rec.labels), "samples": [], "run_ids": [], "flags": [],
            "manifest": rec.manifest, "ci": list(rec.ci) if rec.ci else None})
        e["samples"] += rec.observations
        e["run_ids"] = sorted(set(e["run_ids"]) | {rec.run_id})
        e["flags"] = sorted(set(e["flags"]) | set(rec.flags))
    return out


def protocol(records: list[dict]) -> dict:
    """Return the protocol of a set of records: preset, variant, device, and the batch sizes and device counts."""
    recs = [Record.from_dict(r) for r in records]
    out = {f: sorted({str(r.params.get(f) if r.params.get(f) is not None else r.meta.get(f)) for r in recs})
           for f in PROTOCOL_FIELDS}
    out["batch_size"] = sorted({r.labels["batch_size"] for r in recs if "batch_size" in r.labels})
    out["devices"] = sorted({int(r.labels.get("devices", r.params.get("devices", 1)) or 1) for r in recs})
    return out


def machine_fingerprints(records: list[dict]) -> list[str]:
    """Return the distinct machine fingerprints of the records, recomputed so volatile fields never count."""
    return sorted({fingerprint(r["meta"]) for r in records})
