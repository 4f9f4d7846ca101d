"""The history page: one SVG plot per entry over the commits (change points marked), inlined in one static HTML
file with the commits' ids and subjects, and the markdown trend table (``trend``)."""
from __future__ import annotations

import html
import io
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
import pandas as pd  # noqa: E402

from pgan_ref.fileio import write_text_atomic  # noqa: E402

from harness.ab.revisions import TODAY_WORKER  # noqa: E402
from harness.history import detect as det  # noqa: E402
from harness.history import trend  # noqa: E402
from harness.history.measure import Commit  # noqa: E402
from harness.history.store import HistoryStore  # noqa: E402


def plot_svg(ser: pd.DataFrame, found: det.Detection, title: str) -> str:
    """Return an SVG plot of one entry's ratios to the anchor (CI bars), segment means and change points."""
    fig, ax = plt.subplots(figsize=(11, 3.6))
    x = ser.position.to_numpy()
    ax.errorbar(x, ser.ratio, yerr=[(ser.ratio - ser.ci_low).clip(lower=0), (ser.ci_high - ser.ratio).clip(lower=0)],
                fmt="o", ms=4, capsize=2, color="C0", label="commit / anchor (median, 95% CI)")
    for a, b in found.segments:
        level = math.exp(ser.log_ratio.iloc[a:b].mean())
        ax.hlines(level, x[a] - 0.4, x[b - 1] + 0.4, colors="C2", lw=2)
    for c in found.change_points:
        ax.axvline(x[c.index] - 0.5, color="C3", ls="--")
        ax.annotate(f"x{c.step:.3f}\np={c.pvalue:.2g}", (x[c.index] - 0.5, ax.get_ylim()[1]), fontsize=8,
                    color="C3", va="top", ha="left")
    ax.axhline(1.0, color="grey", lw=0.8)
    ax.set_xticks(x, [c[:7] for c in ser.commit], rotation=60, fontsize=7, family="monospace")
    ax.set_ylabel("step time / anchor")
    ax.set_title(title)
    ax.legend(fontsize="small", loc="upper left")
    fig.tight_layout()
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    plt.close(fig)
    svg = buf.getvalue()
    return svg[svg.index("<svg"):]


def build(store: HistoryStore, commits: list[Commit], anchor: str, clock: str,
          s: det.DetectSettings) -> tuple[str, str]:
    """Return (the HTML page, the markdown trend table) of every entry measured against ``anchor``."""
    points, order = store.points(), [c.sha for c in commits]
    today = set(points[(points.anchor == anchor) & (points.worker == TODAY_WORKER)].commit)
    subjects = {c.sha: c.subject + (" [today's worker]" if c.sha in today else "") for c in commits}
    sections, rows = [], []
    for entry in sorted(set(points[points.anchor == anchor].entry)):
        ser, found = trend.entry_trend(store, points, order, anchor, entry, clock, s)
        if ser.empty:
            continue
        marks = {ser.commit.iloc[c.index]: c for c in found.change_points}
        sections.append(f"<h2>{html.escape(entry)}</h2>\n"
                        + plot_svg(ser, found, f"{entry}: {clock} time per step, ratio to anchor {anchor[:10]}"))
        items = "".join(f"<tr{' class=cp' if c in marks else ''}><td><code>{c[:10]}</code></td>"
                        f"<td>{html.escape(subjects.get(c, ''))}</td><td>{r:.3f}</td><td>{lo:.3f} - {hi:.3f}</td>"
                        f"<td>{html.escape(trend.mark(marks.get(c), s))}</td></tr>"
                        for c, r, lo, hi in zip(ser.commit, ser.ratio, ser.ci_low, ser.ci_high))
        sections.append("<table><tr><th>commit</th><th>subject</th><th>ratio</th><th>95% CI</th><th>change</th></tr>"
                        f"{items}</table>")
        rows.append(trend.row(anchor, entry, ser, found, s))
    frame = pd.DataFrame(rows, columns=trend.COLUMNS)
    table = trend.markdown(frame)
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>pgan-harness history</title><style>"
            "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;font-size:13px}"
            "td,th{border:1px solid #ccc;padding:2px 6px}tr.cp{background:#fdd}</style></head><body>"
            f"<h1>Performance history</h1><p>{len(order)} commits (first-parent), anchor <code>{anchor[:10]}</code>,"
            f" {clock} time; store <code>{html.escape(str(store.dir))}</code>. Change points: PELT + permutation "
            f"test (min segment {s.min_size}, alpha {s.alpha:g}); alarms after the last accepted change. Commits "
            "marked [today's worker] predate the A/B worker and were run by today's on their own code.</p>"
            + frame.to_html(index=False, border=0) + "\n".join(sections) + "</body></html>")
    return page, table


def write(path: Path, text: str) -> Path:
    """Write the page atomically; return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_text_atomic(path, text)
