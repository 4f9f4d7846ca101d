"""The detector's self-test: series built from real A/A noise with injected steps and creep, run commit by commit
as CI would; precision, recall, detection delay and false alarms per 100 commits."""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from harness.history import detect as det


def aa_commit(runs: list[np.ndarray], blocks: int, rng: np.random.Generator) -> float:
    """Return one synthetic commit's log-ratio: the median of ``blocks`` blocks drawn (with replacement) from one
    real A/A run drawn at random (so run-to-run offsets are kept)."""
    run = runs[rng.integers(len(runs))]
    return float(np.median(rng.choice(run, size=blocks, replace=True)))


def aa_series(runs: list[np.ndarray], n: int, blocks: int, rng: np.random.Generator) -> np.ndarray:
    """Return ``n`` synthetic A/A commits (centred: the pool's median of run medians subtracted)."""
    centre = float(np.median([np.median(r) for r in runs]))
    return np.array([aa_commit(runs, blocks, rng) for _ in range(n)]) - centre


def stream(x: np.ndarray, s: det.DetectSettings) -> list[tuple[int, list]]:
    """Return the alarms CI would raise running detect after each commit: (commits seen, alarms); each alarm is
    accepted at once (the next run looks only after it)."""
    since, out = 0, []
    for t in range(2 * s.min_size, x.size + 1):
        found = det.detect(x[:t], s, since)
        alarms = found.alarms(s)
        if alarms:
            out.append((t, alarms))
            since = t
    return out


@dataclass(frozen=True)
class Case:
    """One injected change: a step of ``step`` (fraction) or a creep of ``creep`` per commit from ``at``."""

    name: str
    step: float = 0.0
    creep: float = 0.0


CASES = (Case("A/A"), Case("step 3%", step=0.03), Case("step 5%", step=0.05), Case("step 10%", step=0.10),
         Case("creep 1%/commit", creep=0.01))


def inject(x: np.ndarray, case: Case, at: int) -> np.ndarray:
    """Return ``x`` with the case's change from index ``at`` (log scale)."""
    y = x.copy()
    k = np.arange(y.size - at)
    y[at:] += math.log1p(case.step) + k * math.log1p(case.creep) + (math.log1p(case.creep) if case.creep else 0)
    return y


def evaluate(runs: list[np.ndarray], s: det.DetectSettings, series: int = 20, n: int = 100, at: int = 60,
             blocks: int = 10, horizon: int = 10, seed: int = 0) -> pd.DataFrame:
    """Return one row per case: series, false alarms per 100 commits before the change, recall (an alarm within
    ``horizon`` commits of the change, at its position +-2 for steps), precision and the median and worst delay
    (commits at the new level measured when the alarm fired)."""
    rng = np.random.default_rng(seed)
    s = replace(s, resamples=min(s.resamples, 999))
    rows = []
    for case in CASES:
        false, true, delays, before = 0, 0, [], 0
        for _ in range(series):
            x = aa_series(runs, n, blocks, rng)
            change = case.step or case.creep
            y = inject(x, case, at) if change else x
            alarms = stream(y, s)
            hit = None
            for t, found in alarms:
                if change and at < t <= at + horizon and hit is None and any(
                        isinstance(a, det.Creep) or abs(a.index - at) <= 2 for a in found):
                    hit = t - at
                elif not change or t <= at:
                    false += 1
            before += n if not change else at
            if hit is not None:
                true += 1
                delays.append(hit)
        alarms_total = true + false
        rows.append({"case": case.name, "series": series,
                     "false alarms / 100 commits": f"{100 * false / before:.2f}",
                     "recall": "-" if not (case.step or case.creep) else f"{true / series:.2f}",
                     "precision": "-" if not (case.step or case.creep) else
                     (f"{true / alarms_total:.2f}" if alarms_total else "-"),
                     "delay median / max": f"{np.median(delays):.0f} / {max(delays)}" if delays else "-"})
    return pd.DataFrame(rows)
