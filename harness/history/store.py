"""The history store: per-commit ratios to an anchor, skips and accepted changes, appended to one records file."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from harness.judge.stats import bootstrap_median_ci
from harness.records.store import RecordStore, make_record, new_run_id

SCENARIO = "history"
RATIO, SKIP, ACCEPT = "history_ratio", "history_skip", "history_accept"
POINT_COLUMNS = ["run_id", "time", "fingerprint", "anchor", "commit", "subject", "entry", "clock", "ratio",
                 "log_ratio", "ci_low", "ci_high", "n", "blocks", "base_median_s", "head_median_s", "source",
                 "ab_run_id", "worker"]


def ratio_record(*, meta: dict, anchor: str, commit: str, subject: str, entry: str, clock: str, blocks,
                 base_median_s: float | None, head_median_s: float | None, source: str, ab_run_id: str,
                 run_id: str | None = None, worker: str = "") -> dict:
    """Return one ``history_ratio`` record: the commit's median ratio to the anchor (exp of the median block
    log-ratio), its bootstrap CI, the block log-ratios as samples, and the module of the worker that ran the commit
    (``pgan_harness_today_worker``: today's, on a commit older than the worker)."""
    blocks = [float(b) for b in blocks]
    ratio, lo, hi = (math.exp(v) for v in bootstrap_median_ci(blocks)) if len(blocks) >= 2 else (math.nan,) * 3
    return make_record(run_id=run_id or new_run_id(), scenario=SCENARIO, metric=RATIO, unit="commit/anchor",
                       value=ratio, samples=blocks, ci=None if math.isnan(lo) else (lo, hi), meta=meta,
                       labels={"anchor": anchor, "commit": commit, "subject": subject, "entry": entry,
                               "clock": clock, "base_median_s": base_median_s, "head_median_s": head_median_s,
                               "source": source, "ab_run_id": ab_run_id, "worker": worker})


def skip_record(*, meta: dict, anchor: str, commit: str, subject: str, reason: str) -> dict:
    """Return one ``history_skip`` record: a commit that could not be measured, and why."""
    return make_record(run_id=new_run_id(), scenario=SCENARIO, metric=SKIP, unit="1", value=None, meta=meta,
                       labels={"anchor": anchor, "commit": commit, "subject": subject, "reason": reason})


def accept_record(*, meta: dict, commit: str, entry: str, why: str) -> dict:
    """Return one ``history_accept`` record: a change at ``commit`` (entry or ``*``) accepted, with the reason."""
    return make_record(run_id=new_run_id(), scenario=SCENARIO, metric=ACCEPT, unit="1", value=None, meta=meta,
                       labels={"commit": commit, "entry": entry, "why": why})


def series(points: pd.DataFrame, order: list[str], entry: str, clock: str, anchor: str) -> pd.DataFrame:
    """Return one row per commit of ``order`` measured against ``anchor`` (entry, clock): its position, the mean
    log-ratio over its runs, the runs' CI bounds (widest), and the subject; unmeasured commits are left out."""
    pos = {c: i for i, c in enumerate(order)}
    sel = points[(points.entry == entry) & (points.clock == clock) & (points.anchor == anchor)
                 & points.commit.isin(pos)]
    rows = [{"position": pos[c], "commit": c, "subject": g.subject.iloc[-1], "log_ratio": g.log_ratio.mean(),
             "ratio": math.exp(g.log_ratio.mean()), "ci_low": g.ci_low.min(), "ci_high": g.ci_high.max(),
             "runs": len(g)} for c, g in sel.groupby("commit")]
    return pd.DataFrame(rows, columns=["position", "commit", "subject", "log_ratio", "ratio", "ci_low", "ci_high",
                                       "runs"]).sort_values("position", ignore_index=True)


class HistoryStore:
    """One history directory: ``records.jsonl`` (append-only: A/B step records, ratios, skips, acceptances)."""

    def __init__(self, path: str | Path):
        self.dir = Path(path)
        self.records = RecordStore(self.dir)

    def append(self, rows: list[dict]) -> int:
        """Append records durably; return how many were written (nothing is ever rewritten)."""
        return self.records.append(rows)

    def _of(self, metric: str) -> list[dict]:
        return [r for r in self.records.iter() if r["scenario"] == SCENARIO and r["metric"] == metric]

    def points(self) -> pd.DataFrame:
        """Return one row per measured (commit, entry, clock, run) with its ratio to the anchor, in file order."""
        rows = []
        for r in self._of(RATIO):
            lab, ci = r["labels"], r.get("ci") or [math.nan, math.nan]
            blocks = r.get("samples") or []
            rows.append({"run_id": r["run_id"], "time": r["time_start"],
                         "fingerprint": r["meta"].get("machine_fingerprint"), "anchor": lab["anchor"],
                         "commit": lab["commit"], "subject": lab.get("subject", ""), "entry": lab["entry"],
                         "clock": lab["clock"], "ratio": r["value"],
                         "log_ratio": float(np.median(blocks)) if blocks else math.nan,
                         "ci_low": ci[0], "ci_high": ci[1], "n": len(blocks), "blocks": blocks,
                         "base_median_s": lab.get("base_median_s"), "head_median_s": lab.get("head_median_s"),
                         "source": lab.get("source"), "ab_run_id": lab.get("ab_run_id"),
                         "worker": lab.get("worker", "")})
        return pd.DataFrame(rows, columns=POINT_COLUMNS)

    def samples(self) -> pd.DataFrame:
        """Return every A/B step sample: fingerprint, run, commit, role, entry, clock, round, seconds."""
        rows = []
        for r in self.records.iter():
            if r["scenario"] != "ab" or r["metric"] not in ("step_time", "step_cpu_time"):
                continue
            lab = r["labels"]
            for i, s in enumerate(r.get("samples") or []):
                rows.append({"fingerprint": r["meta"].get("machine_fingerprint"), "run_id": r["run_id"],
                             "commit": lab.get("commit"), "role": lab.get("role"),
                             "entry": f"{lab.get('scale')}:{lab.get('phase')}",
                             "clock": "wall" if r["metric"] == "step_time" else "cpu",
                             "round": lab.get("round"), "index": i, "seconds": s})
        return pd.DataFrame(rows, columns=["fingerprint", "run_id", "commit", "role", "entry", "clock", "round",
                                           "index", "seconds"])

    def skips(self) -> pd.DataFrame:
        """Return the commits skipped (fingerprint, anchor, commit, subject, reason)."""
        return pd.DataFrame([{"fingerprint": r["meta"].get("machine_fingerprint"), "anchor": r["labels"]["anchor"],
                              "commit": r["labels"]["commit"], "subject": r["labels"].get("subject", ""),
                              "reason": r["labels"]["reason"]} for r in self._of(SKIP)],
                            columns=["fingerprint", "anchor", "commit", "subject", "reason"])

    def accepted(self) -> pd.DataFrame:
        """Return the accepted changes (time, commit, entry or ``*``, why), oldest first."""
        return pd.DataFrame([{"time": r["time_start"], "commit": r["labels"]["commit"],
                              "entry": r["labels"]["entry"], "why": r["labels"]["why"]} for r in self._of(ACCEPT)],
                            columns=["time", "commit", "entry", "why"])
