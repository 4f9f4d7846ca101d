"""The CPU kernel thread policy ``PGAN_CPU_THREADS`` (no MindSpore import: run metadata reads it too)."""
from __future__ import annotations

import os

from ._env import CPU_THREADS_VAR
from .config import ConfigError


def cpu_threads(environ=os.environ, cores: int | None = None) -> int | None:
    """Return the CPU kernel thread count ``PGAN_CPU_THREADS`` asks for; None keeps MindSpore's default.

    ``auto`` (the default) is half the cores this process may use, at least one. Measured on a quiet 2-core
    Xeon (full width, batch 16): one kernel thread ran the iteration 12-25% faster than MindSpore's default
    at 4 and 8 px and no slower at 16 px, because the runtime's own threads then run independent kernels on
    the other core instead of spinning against a second oneDNN thread. ``default`` leaves MindSpore's choice.
    """
    text = (environ.get(CPU_THREADS_VAR) or "auto").strip().lower()
    if text == "default":
        return None
    if text == "auto":
        cores = cores if cores is not None else len(os.sched_getaffinity(0))
        return max(1, cores // 2)
    if text.isdigit() and int(text) > 0:
        return int(text)
    raise ConfigError(f"{CPU_THREADS_VAR}={environ.get(CPU_THREADS_VAR)!r} is not accepted: expected auto, "
                      "default or a positive integer (MindSpore CPU kernel threads)")
