"""The CPU kernel thread policy ``PGAN_CPU_THREADS`` (no MindSpore import: run metadata reads it too)."""
from __future__ import annotations

import os

from ._env import CPU_THREADS_VAR
from .config import ConfigError


def cpu_threads(environ=os.environ) -> int | None:
    """Return the CPU kernel thread count ``PGAN_CPU_THREADS`` asks for; None (unset or ``default``) keeps MindSpore's.

    MindSpore's default stays the default. Measured with ``pgan-harness ab --design alternate`` on a quiet 2-core
    Xeon (full width, batch 16; base MindSpore's default, head one thread; wall medians): one thread ran the
    iteration 8-12% faster at 4 and 8 px (0.553 -> 0.507 s, 3.04 -> 2.69 s; the runtime's own threads then run
    independent kernels on the other core) but 4% slower at 16 px (10.32 -> 10.75 s), and the larger scales
    are where training spends its time.
    """
    text = (environ.get(CPU_THREADS_VAR) or "default").strip()
    if text.lower() == "default":
        return None
    if text.isascii() and text.isdigit() and int(text) > 0:
        return int(text)
    raise ConfigError(f"{CPU_THREADS_VAR}={text!r} is not accepted: expected default or a positive integer "
                      "(MindSpore CPU kernel threads)")
