"""PNG plots for the report (matplotlib Agg): step time per scale, loss envelopes, latency distribution."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from harness.judge.modelcard import CARD_LOG_EVERY  # noqa: E402
from pgan_ref.fileio import replaced_atomically  # noqa: E402


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    with replaced_atomically(path) as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)
    return path


def step_time_plot(steps: pd.DataFrame, path: Path) -> Path:
    """Plot step-time distributions, one box per (preset, scale, phase, devices), coloured by device count."""
    groups = sorted(steps.fillna({"phase": "all", "preset": "?"}).groupby(["preset", "scale", "phase", "devices"]),
                    key=lambda g: g[0])
    fig, ax = plt.subplots(figsize=(max(5, len(groups) * 0.9), 3.8))
    boxes = ax.boxplot([np.concatenate(list(g.samples)) for _, g in groups], showfliers=True, patch_artist=True)
    colours = {d: f"C{i}" for i, d in enumerate(sorted({k[3] for k, _ in groups}))}
    for box, ((_, _, _, devices), _) in zip(boxes["boxes"], groups):
        box.set(facecolor=colours[devices], alpha=0.5)
    ax.legend([plt.Rectangle((0, 0), 1, 1, color=c, alpha=0.5) for c in colours.values()],
              [f"{d} device{'s' if d > 1 else ''}" for d in colours], fontsize="small")
    ax.set_xticks(range(1, len(groups) + 1), [f"{s:g}px\n{ph}\n{d}p\n{pr}" for (pr, s, ph, d), _ in groups],
                  fontsize="x-small")
    ax.set_yscale("log")
    ax.set_ylabel("step time (s)")
    ax.set_title("Step time per scale and phase (1p and Np)")
    return _save(fig, path)


def loss_plot(losses: pd.DataFrame, path: Path, card: dict | None = None) -> Path:
    """Plot losses over training (scales in order), card-style points every ``stride`` samples (a column) and,
    when ``card`` maps a metric to the card's [low, high] range, that range as a band; return the path."""
    fig, axes = plt.subplots(1, losses.metric.nunique(), figsize=(10, 3.5), squeeze=False)
    for ax, (metric, g) in zip(axes[0], losses.groupby("metric")):
        offset = 0
        for scale, rows in g.sort_values("scale").groupby("scale", sort=True):
            ys = np.concatenate(list(rows.samples))
            xs = offset + np.arange(ys.size)
            stride = int(rows.stride.iloc[0])
            ax.plot(xs, ys, lw=0.6, label=f"{scale:g}px")
            ax.plot(xs[::stride], ys[::stride], "k.", ms=3)
            offset += ys.size
        if card and card.get(metric):
            ax.axhspan(*card[metric], color="grey", alpha=0.15, label="card range")
        ax.set_title(f"{metric} (dots: the card's one value per {CARD_LOG_EVERY} steps)", fontsize="medium")
        ax.set_xlabel("recorded step (scales concatenated)")
        ax.legend(fontsize="small")
    return _save(fig, path)


def latency_plot(latency: pd.DataFrame, path: Path) -> Path:
    """Plot latency distributions, one box per (runtime, batch); return the path."""
    groups = list(latency.groupby(["runtime", "batch_size"], dropna=False))
    fig, ax = plt.subplots(figsize=(max(5, len(groups) * 1.2), 3.5))
    ax.boxplot([np.concatenate(list(g.samples)) for _, g in groups])
    ax.set_xticks(range(1, len(groups) + 1), [f"{r}\nbatch {b:g}" for (r, b), _ in groups])
    ax.set_ylabel("latency (ms)")
    ax.set_title("Inference latency")
    return _save(fig, path)


def quality_plot(quality: pd.DataFrame, path: Path) -> Path:
    """Plot each quality metric against training images seen (one panel per metric family, n in the legend)."""
    families = {"FID": ["fid"], "KID": ["kid"], "SWD x1e3 (avg)": ["swd"], "MS-SSIM": ["ms_ssim_fake", "ms_ssim_real"],
                "P/R/D/C (k=3)": ["precision", "recall", "density", "coverage"]}
    shown = {t: ms for t, ms in families.items() if quality.metric.isin(ms).any()}
    fig, axes = plt.subplots(1, len(shown), figsize=(3.6 * len(shown), 3.2), squeeze=False)
    for ax, (title, metrics) in zip(axes[0], shown.items()):
        for metric in metrics:
            for n, g in quality[quality.metric == metric].groupby("n"):
                g = g.sort_values("images_seen")
                ax.plot(g.images_seen, g.value, "o-", ms=3, label=f"{metric} (n={n:g})")
        ax.set_title(title, fontsize="medium")
        ax.set_xlabel("training images seen")
        ax.legend(fontsize="x-small")
    return _save(fig, path)
