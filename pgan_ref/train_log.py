"""Training output: ModelZoo-format log lines (spec §7) and a machine-readable per-step JSON-lines record."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Callable

from .fileio import append_lines, write_text_atomic


def step_line(i: int, alpha: float, loss_g: float, loss_d: float, overflow: bool = False) -> str:
    """Return the ModelZoo ``batch_i:... loss G:... loss D:...`` line."""
    now = dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S.%f")
    return f"batch_i:{i} alpha:{alpha} loss G:{loss_g} loss D:{loss_d} overflow:{overflow},time:{now}"


def monitor_line(epoch: int, step: int, step_ms: float, data_ms: float) -> str:
    """Return the ModelZoo timing-monitor line (new units: real milliseconds)."""
    return (f"Intermediate: epoch {epoch} step {step}, per_step_time {step_ms:.3f} ms, "
            f"(not including the data loader time per step {data_ms:.3f} ms)")


class TrainLog:
    """Writes log lines (to a callable, e.g. print) and per-step records to ``steps.jsonl``."""

    def __init__(self, steps_path: Path | None, emit: Callable[[str], None] = print):
        self.steps_path, self.emit = steps_path, emit

    def line(self, text: str) -> None:
        """Emit one log line."""
        self.emit(text)

    def keep_steps_before(self, point: tuple[int, int] | None) -> int:
        """Drop the per-step rows at or after ``point`` = (scale, i), all of them when None (a resumed run writes
        them again, so the file keeps every step once); unreadable rows go too. Return how many were dropped."""
        if self.steps_path is None or not self.steps_path.exists():
            return 0
        kept, dropped = [], 0
        for line in self.steps_path.read_bytes().splitlines():
            try:
                row = json.loads(line)
                keep = point is not None and (row["scale"], row["i"]) < tuple(point)
            except (ValueError, TypeError, KeyError):
                keep = False
            if keep:
                kept.append(line.decode() + "\n")
            else:
                dropped += bool(line.strip())
        if dropped:
            write_text_atomic(self.steps_path, "".join(kept))
        return dropped

    def step(self, row: dict) -> None:
        """Append one per-step record (one O_APPEND write; no fsync on the training hot path)."""
        if self.steps_path is not None:
            append_lines(self.steps_path, [json.dumps(row)], fsync=False)
