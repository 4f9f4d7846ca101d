"""Training output: ModelZoo-format log lines (spec §7) and a machine-readable per-step JSON-lines record."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Callable

from .fileio import append_lines


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

    def step(self, row: dict) -> None:
        """Append one per-step record (one O_APPEND write; no fsync on the training hot path)."""
        if self.steps_path is not None:
            append_lines(self.steps_path, [json.dumps(row)], fsync=False)
