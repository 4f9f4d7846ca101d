"""Convert pytest-benchmark's JSON document into harness records, so one report covers both."""
from __future__ import annotations

from harness.records.store import make_record


def benchmark_records(data: dict, run_id: str, meta: dict, params: dict) -> list[dict]:
    """Return one ``bench_time`` record per benchmark of pytest-benchmark's JSON document ``data``."""
    out = []
    for b in data.get("benchmarks", []):
        stats = b.get("stats", {})
        samples = stats.get("data")
        labels = {"name": b.get("name"), "group": b.get("group"), "rounds": stats.get("rounds"),
                  **{k: v for k, v in (b.get("extra_info") or {}).items() if not isinstance(v, (dict, list))}}
        out.append(make_record(run_id=run_id, scenario="bench", source="pytest-benchmark", metric="bench_time",
                               unit="s", value=stats.get("median"), samples=samples, labels=labels,
                               params={**params, "fullname": b.get("fullname")}, meta=meta,
                               flags=[] if samples else ["summary-only"]))
    return out
