"""The record schema: its version, the migration of older records, and the typed ``Record`` readers use.

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
    """One measurement with fixed places for what readers look up (from ``Record.from_dict``)."""

    run_id: str
    scenario: str
    source: str
    metric: str
    unit: str
    value: float | None
    samples: tuple[float, ...] = ()  # the raw samples in measurement order; () when only a value was recorded
    stats: dict = field(default_factory=dict)
    labels: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    manifest: dict | None = None  # the FID / quality protocol manifest (labels first, then params)
    ci: tuple[float, float] | None = None  # the confidence interval of ``value``
    flags: tuple[str, ...] = ()
    meta: dict = field(default_factory=dict)
    time_start: str | None = None

    @classmethod
    def from_dict(cls, rec: dict) -> "Record":
        """Return the typed record of a stored dict of any readable schema (migrated first)."""
        rec = migrate(rec)
        labels, params = rec.get("labels") or {}, rec.get("params") or {}
        return cls(run_id=rec["run_id"], scenario=rec["scenario"], source=rec["source"], metric=rec["metric"],
                   unit=rec["unit"], value=rec.get("value"), samples=tuple(rec.get("samples") or ()),
                   stats=rec.get("stats") or {}, labels=labels, params=params,
                   manifest=labels.get("manifest") or params.get("manifest") or None,
                   ci=tuple(rec["ci"]) if rec.get("ci") else None, flags=tuple(rec.get("flags") or ()),
                   meta=rec.get("meta") or {}, time_start=rec.get("time_start"))

    @property
    def observations(self) -> list[float]:
        """Return the raw samples, or the value alone when no samples were recorded (nothing if neither)."""
        if self.samples:
            return list(self.samples)
        return [] if self.value is None else [self.value]
