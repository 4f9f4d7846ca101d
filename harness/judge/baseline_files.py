"""Baseline and calibration files: their format, building them from records, writing and reading them."""
from __future__ import annotations

import json
from pathlib import Path

import yaml

from pgan_ref.fileio import write_text_atomic

from harness.errors import BadInput, writable
from harness.judge import stats
from harness.judge.entries import UNTIMED_METRICS, entry_key, group_entries, machine_fingerprints, protocol
from harness.records.machine import machine_fields
from harness.records.store import NUMBER, NumberList, field_problem, utc_now

FORMAT = "pgan-harness-baseline/1"


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


def calibration(run_records: list[list[dict]], k: float = 1.0, quantile: float = 0.99, seed: int = 0) -> dict:
    """Return a calibration: A/A noise per timing entry and overall from records of repeated identical runs."""
    runs = [group_entries(recs) for recs in run_records]
    prints = machine_fingerprints([r for recs in run_records for r in recs])
    per_key, all_pairs = [], []
    for key in sorted(set.intersection(*(set(r) for r in runs))):
        first = runs[0][key]
        if first["metric"] in UNTIMED_METRICS:
            continue
        pairs = [(a[key]["samples"], b[key]["samples"]) for a, b in zip(runs, runs[1:])]
        all_pairs += pairs
        per_key.append({"key": key, "metric": first["metric"], "labels": first["labels"],
                        "noise": stats.aa_noise(pairs, quantile, seed=seed), "n_pairs": len(pairs)})
    return {"format": FORMAT, "kind": "calibration", "created": utc_now(), "machine_fingerprint": prints,
            "k": k, "quantile": quantile, "entries": per_key,
            "noise_overall": stats.aa_noise(all_pairs, quantile, seed=seed)}


def baseline_entries(baseline: dict) -> dict[str, dict]:
    """Return the entries of a measured baseline keyed as ``group_entries`` keys the current records."""
    return {entry_key(e["scenario"], e["metric"], e["labels"]): e for e in baseline["entries"]}


def check_replaceable(path: str | Path, force: bool = False) -> None:
    """Raise BadInput when a baseline cannot be written to ``path``: it cannot be created there, or it is an existing
    file that is not a baseline file (unless ``force``)."""
    writable("--out", path)
    if Path(path).exists() and not force:
        try:
            load_baseline(path)
        except BadInput:
            raise BadInput(f"--out {path} exists and is not a pgan-harness baseline file (format {FORMAT!r}): "
                           f"pass --force to replace it, or choose another file") from None


def save_baseline(data: dict, path: str | Path) -> Path:
    """Replace ``path`` atomically with a baseline file (YAML for .yaml/.yml, JSON otherwise); return its path."""
    path = Path(path)
    text = (yaml.safe_dump(data, allow_unicode=True, sort_keys=False) if path.suffix in (".yaml", ".yml")
            else json.dumps(data, ensure_ascii=False, indent=1))
    return write_text_atomic(path, text)


# Per kind of baseline file: the fields its readers use, the list of items and their fields, the command writing it.
KINDS = {"model-card": ({"tables": list}, "tables", {"title": str, "columns": list},
                        "`pgan-harness baseline --from-model-card`"),
         "measured": ({"entries": list, "machine_fingerprint": str, "machine": dict, "protocol": dict}, "entries",
                      {"scenario": str, "metric": str, "unit": str, "labels": dict, "samples": NumberList},
                      "`pgan-harness baseline --from-results`"),
         "calibration": ({"entries": list, "machine_fingerprint": list, "k": NUMBER,
                          "noise_overall": NUMBER}, "entries", {"key": str, "noise": NUMBER},
                         "`pgan-harness calibrate`")}


def _shape_problem(data: dict, kind: str) -> str | None:
    """Return what is wrong with the shape of a baseline of ``kind`` (fields, then each item), else None."""
    fields, items, item_fields, _ = KINDS[kind]
    problem = field_problem(data, fields)
    for i, item in enumerate([] if problem else data[items]):
        problem = "not a mapping" if not isinstance(item, dict) else field_problem(item, item_fields)
        if problem:
            return f"{items}[{i}]: {problem}"
    return problem


def load_baseline(path: str | Path, kind: str | None = None) -> dict:
    """Return the contents of a baseline file written by ``save_baseline`` (of ``kind`` if given).

    A missing, unreadable, truncated or malformed file, another format or kind, or missing fields raise BadInput.
    """
    path = Path(path)
    expected = f"a pgan-harness baseline file (format {FORMAT!r}" + (f", kind {kind!r} from {KINDS[kind][3]})"
                                                                       if kind else ")")
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else json.loads(text)
    except OSError as e:
        raise BadInput(f"{path}: cannot read ({e.strerror or e}); expected {expected}") from None
    except (UnicodeDecodeError, ValueError, yaml.YAMLError) as e:
        reason = str(e).splitlines()[0]
        raise BadInput(f"{path}: not valid {'YAML' if path.suffix in ('.yaml', '.yml') else 'JSON'} ({reason}); "
                       f"expected {expected}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BadInput(f"{path}: not {expected}")
    if kind and data.get("kind") != kind:
        raise BadInput(f"{path}: a {data.get('kind')!r} baseline; expected {expected}")
    problem = _shape_problem(data, data["kind"]) if data.get("kind") in KINDS else None
    if problem:
        raise BadInput(f"{path}: {problem}; expected {expected}")
    return data
