"""Termination signals handled like Ctrl-C, so ``finally`` blocks run and CLIs report an interruption (exit 130)."""
from __future__ import annotations

import contextlib
import signal
import threading

EXIT_INTERRUPTED = 130


_received: list[int] = []  # signals seen inside terminate_as_interrupt, kept in case a native call swallowed the raise


def _raise_interrupt(signum, _frame):
    _received.append(signum)
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


@contextlib.contextmanager
def terminate_as_interrupt():
    """Within this block SIGINT and SIGTERM raise KeyboardInterrupt (main thread only; elsewhere a no-op).

    A handler runs wherever the interpreter next checks for signals, which can be inside a native call that
    turns the exception into its own error and drops it; ``raise_if_interrupted`` at a loop boundary raises it
    again so the signal is not lost.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _received.clear()
    previous = {sig: signal.signal(sig, _raise_interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def raise_if_interrupted() -> None:
    """Raise KeyboardInterrupt if a signal reached terminate_as_interrupt's handler but its raise was swallowed."""
    if _received:
        raise KeyboardInterrupt(f"signal {signal.Signals(_received[0]).name}")


@contextlib.contextmanager
def deferred_interrupts():
    """Hold SIGINT and SIGTERM back within this block and raise KeyboardInterrupt at its end if one came.

    For writes that should finish once started (a checkpoint set); main thread only, elsewhere a no-op.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, _frame: caught.append(signum))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if caught:
            raise KeyboardInterrupt(f"signal {signal.Signals(caught[0]).name}")
