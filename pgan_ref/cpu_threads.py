"""The CPU kernel thread policy ``PGAN_CPU_THREADS`` (no MindSpore import: run metadata reads it too)."""
from __future__ import annotations

import functools
import os
import sys

from ._env import CPU_THREADS_VAR
from .config import ConfigError


def usable_cores() -> int:
    """Return the number of CPU cores this process may run on (its affinity mask, else the machine's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@functools.cache
def _warn_above_cores(threads: int, cores: int) -> None:
    """Print, once per process and value, that ``threads`` exceeds the ``cores`` usable cores."""
    print(f"warning: {CPU_THREADS_VAR}={threads} is more than the {cores} usable CPU cores: accepted, but the "
          f"threads will share cores", file=sys.stderr)


def cpu_threads(environ=os.environ) -> int | None:
    """Return the CPU kernel thread count ``PGAN_CPU_THREADS`` asks for; None (unset or ``default``) keeps MindSpore's.

    A count above the usable cores is accepted with one warning line on stderr. MindSpore's default stays the
    default. Measured with ``pgan-harness ab --design alternate`` on a quiet 2-core
    Xeon (full width, batch 16; base MindSpore's default, head one thread; wall medians): one thread ran the
    iteration 8-12% faster at 4 and 8 px (0.553 -> 0.507 s, 3.04 -> 2.69 s; the runtime's own threads then run
    independent kernels on the other core) but 4% slower at 16 px (10.32 -> 10.75 s), and the larger scales
    are where training spends its time.
    """
    text = (environ.get(CPU_THREADS_VAR) or "default").strip()
    if text.lower() == "default":
        return None
    if not (text.isascii() and text.isdigit() and int(text) > 0):
        raise ConfigError(f"{CPU_THREADS_VAR}={text!r} is not accepted: expected default or a positive integer "
                          "(MindSpore CPU kernel threads)")
    threads, cores = int(text), usable_cores()
    if threads > cores:
        _warn_above_cores(threads, cores)
    return threads
