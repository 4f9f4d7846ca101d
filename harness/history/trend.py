"""The trend table: per anchor and entry over a first-parent line, the first, last and best (fastest) segments, the
cumulative change, and the change points with step, CI and p (markdown for the report and the history page)."""
from __future__ import annotations

import math

import pandas as pd

from harness.history import detect as det
from harness.history.store import HistoryStore, series

COLUMNS = ["anchor", "entry", "commits", "first segment", "last segment", "best segment", "cumulative change",
           "change points", "alarm"]


def since(store: HistoryStore, order: list[str], entry: str, ser: pd.DataFrame) -> int:
    """Return the index in ``ser`` of its first commit after the last accepted change of ``entry`` (or of every
    entry) on ``order``; 0 when none is accepted."""
    acc = store.accepted()
    acc = acc[acc.entry.isin([entry, "*"]) & acc.commit.isin(order)]
    after = max((order.index(c) + 1 for c in acc.commit), default=0)
    return int((ser.position < after).sum())


def mark(c: det.ChangePoint | None, s: det.DetectSettings) -> str:
    """Return a change point as 'xSTEP [LOW, HIGH] p=P' (+ ' regression'), '' for None."""
    if c is None:
        return ""
    return (f"x{c.step:.3f} [{c.ci_low:.3f}, {c.ci_high:.3f}] p={c.pvalue:.2g}"
            + (" regression" if c.regression(s) else ""))


def _level(ser: pd.DataFrame, seg: tuple[int, int]) -> float:
    return float(ser.log_ratio.iloc[seg[0]:seg[1]].mean())


def _segment(ser: pd.DataFrame, seg: tuple[int, int]) -> str:
    a, b = seg
    return f"{math.exp(_level(ser, seg)):.3f} ({ser.commit.iloc[a][:7]}..{ser.commit.iloc[b - 1][:7]}, {b - a})"


def row(anchor: str, entry: str, ser: pd.DataFrame, found: det.Detection, s: det.DetectSettings) -> dict:
    """Return the trend of one entry's series: each segment as 'mean ratio (first..last commit, commits)', the
    cumulative change (last segment / first), the significant change points, and the unaccepted alarms."""
    segs = found.segments
    first, last = segs[0], segs[-1]
    alarms = found.alarms(s)
    return {"anchor": anchor[:7], "entry": entry, "commits": len(ser), "first segment": _segment(ser, first),
            "last segment": _segment(ser, last),
            "best segment": _segment(ser, min(segs, key=lambda seg: _level(ser, seg))),
            "cumulative change": f"{math.expm1(_level(ser, last) - _level(ser, first)):+.1%}",
            "change points": "; ".join(f"{ser.commit.iloc[c.index][:7]} {mark(c, s)}"
                                       for c in found.change_points) or "-",
            "alarm": ", ".join(sorted({"creep" if isinstance(a, det.Creep) else "regression" for a in alarms}))
            or "no"}


def entry_trend(store: HistoryStore, points: pd.DataFrame, order: list[str], anchor: str, entry: str, clock: str,
                s: det.DetectSettings) -> tuple[pd.DataFrame, det.Detection]:
    """Return (the series, its detection since the last accepted change) of one entry against ``anchor``."""
    ser = series(points, order, entry, clock, anchor)
    return ser, det.detect(ser.log_ratio.to_numpy(), s, since(store, order, entry, ser))


def table(store: HistoryStore, commits: list[str], clock: str, s: det.DetectSettings,
          anchors: list[str] | None = None) -> pd.DataFrame:
    """Return one trend row per anchor and entry measured on the first-parent line ``commits`` (oldest first; each
    anchor's own point first when it is not on the line). ``anchors`` default: every anchor with points there."""
    points = store.points()
    on_line = points[points.commit.isin(set(commits))]
    rows = []
    for anchor in anchors or sorted(set(on_line.anchor)):
        order = ([anchor] if anchor not in commits else []) + list(commits)
        for entry in sorted(set(on_line[on_line.anchor == anchor].entry)):
            ser, found = entry_trend(store, points, order, anchor, entry, clock, s)
            if len(ser):
                rows.append(row(anchor, entry, ser, found, s))
    return pd.DataFrame(rows, columns=COLUMNS)


def markdown(frame: pd.DataFrame) -> str:
    """Return the trend table as markdown ('(no history)' when empty)."""
    return frame.to_markdown(index=False, disable_numparse=True) if len(frame) else "(no history)"
