"""Termination signals handled like Ctrl-C, so ``finally`` blocks run and CLIs report an interruption (exit 130)."""
from __future__ import annotations

import contextlib
import signal
import threading

EXIT_INTERRUPTED = 130


def _raise_interrupt(signum, _frame):
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


@contextlib.contextmanager
def terminate_as_interrupt():
    """Within this block SIGTERM raises KeyboardInterrupt (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
