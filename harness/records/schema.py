"""The record schema: its version, the migration of older records, and the typed ``Record`` (built and read).

Schema 2 (written since issue 11) has one fixed place for a value's confidence interval, the top-level
``ci: [low, high]`` (absent when none was computed). Schema 1 records kept it in one of several places
(``params.ci``, ``params.fid_bootstrap.ci``, ``labels.fid_bootstrap.ci``); ``migrate`` moves it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

SCHEMA_VERSION = 2
CI_PATHS_V1 = ("ci", "params.ci", "params.fid_bootstrap.ci", "labels.fid_bootstrap.ci")  # first found wins


def dig(d: dict, dotted: str):
    """Return the value at a dotted path of nested dicts ('params.fid_bootstrap.ci'), None where it is absent."""
    for part in dotted.split("."):
        d = d.get(part) if isinstance(d, dict) else None
    return d


def _v1_to_v2(rec: dict) -> dict:
    """Return a schema-1 record as schema 2: the CI found in the old places moved to ``ci``."""
    ci = next((dig(rec, p) for p in CI_PATHS_V1 if dig(rec, p)), None)
    out = {k: v for k, v in rec.items() if k != "ci"}
    if ci:
        out["ci"] = [float(ci[0]), float(ci[1])]
    return {**out, "schema": 2}


MIGRATIONS: dict[int, Callable[[dict], dict]] = {1: _v1_to_v2}  # schema n -> n + 1
READABLE_SCHEMAS = (*MIGRATIONS, SCHEMA_VERSION)  # the current schema and the older ones this reader migrates


def migrate(rec: dict) -> dict:
    """Return the record (a dict of a readable schema) in the current schema; the input is not changed."""
    while rec["schema"] != SCHEMA_VERSION:
        rec = MIGRATIONS[rec["schema"]](rec)
    return rec


@dataclass(frozen=True)
class Record:
    """One measurement with a fixed place for each part (``make_record`` builds one; readers use ``from_dict``)."""

    run_id: str
    scenario: str
    source: str
    metric: str
    unit: str
    value: float | None
    meta: dict
    samples: tuple[float, ...] | None = None  # the raw samples in measurement order; None when only a value
    stats: dict | None = None  # summary statistics of ``samples``
    labels: dict = field(default_factory=dict)  # where it was measured (identity); list values are per sample
    params: dict = field(default_factory=dict)
    ci: tuple[float, float] | None = None  # the confidence interval of ``value``
    flags: tuple[str, ...] = ()
    config_hash: str | None = None
    seeds: dict = field(default_factory=dict)
    time_start: str | None = None
    time_end: str | None = None
    schema: int = SCHEMA_VERSION

    @classmethod
    def from_dict(cls, rec: dict) -> "Record":
        """Return the typed record of a stored dict of any readable schema (migrated first)."""
        rec = migrate(rec)
        samples = rec.get("samples")
        return cls(run_id=rec["run_id"], scenario=rec["scenario"], source=rec["source"], metric=rec["metric"],
                   unit=rec["unit"], value=rec.get("value"), meta=rec.get("meta") or {},
                   samples=None if samples is None else tuple(samples), stats=rec.get("stats"),
                   labels=rec.get("labels") or {}, params=rec.get("params") or {},
                   ci=tuple(rec["ci"]) if rec.get("ci") else None, flags=tuple(rec.get("flags") or ()),
                   config_hash=rec.get("config_hash"), seeds=rec.get("seeds") or {},
                   time_start=rec.get("time_start"), time_end=rec.get("time_end"))

    def to_dict(self) -> dict:
        """Return the record as the dict stored (one JSON line); optional parts only when present."""
        rec = {"schema": self.schema, "run_id": self.run_id, "scenario": self.scenario, "source": self.source,
               "metric": self.metric, "unit": self.unit, "value": self.value, "labels": self.labels,
               "params": self.params, "config_hash": self.config_hash, "seeds": self.seeds, "flags": list(self.flags),
               "meta": self.meta, "time_start": self.time_start, "time_end": self.time_end}
        if self.samples is not None:
            rec["samples"] = list(self.samples)
        if self.stats is not None:
            rec["stats"] = self.stats
        if self.ci is not None:
            rec["ci"] = list(self.ci)
        return rec

    @property
    def manifest(self) -> dict | None:
        """Return the FID / quality protocol manifest: in ``labels`` (schema-1 records may have it in ``params``)."""
        return self.labels.get("manifest") or self.params.get("manifest") or None

    @property
    def observations(self) -> list[float]:
        """Return the raw samples, or the value alone when no samples were recorded (nothing if neither)."""
        if self.samples:
            return list(self.samples)
        return [] if self.value is None else [self.value]
