"""Timing core of the scenarios: first call (compile) apart, warm-up excluded, device-synchronised raw samples."""
from __future__ import annotations

import functools
import logging
import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from harness.records.store import summarize

Clock = Callable[[], float]


@functools.cache
def _synchronize() -> Callable[[], None]:
    """Return ``mindspore.runtime.synchronize`` after its first call, which on CPU only logs "not supported"."""
    import mindspore

    # MindSpore 2.10 checks the device on the first call only: on CPU it logs an ERROR and returns without
    # waiting, although later calls do wait for the asynchronous PyNative queue. Spend that call here, quietly.
    previous = logging.root.manager.disable
    logging.disable(logging.ERROR)
    try:
        mindspore.runtime.synchronize()
    finally:
        logging.disable(previous)
    return mindspore.runtime.synchronize


def sync() -> None:
    """Wait until the device has finished all queued work (``mindspore.runtime.synchronize()``)."""
    _synchronize()()


def _noop() -> None:
    """Do nothing: the call whose timing is the harness's overhead, and ``sync`` when the device is not awaited."""


@dataclass
class Timing:
    """Seconds per call: the first call (compile time of a compiled step), warm-up calls, then the samples."""

    first_s: float
    warmup_s: list[float] = field(default_factory=list)
    samples: list[float] = field(default_factory=list)

    def stats(self) -> dict:
        """Return the summary statistics of the samples (``records.summarize``: n, median, IQR, p90, p99...)."""
        return summarize(self.samples)


@dataclass
class SplitTiming:
    """Seconds per iteration of a fetch-then-compute loop, as two ``Timing``: data fetch and compute."""

    data: Timing
    compute: Timing


def _loop(step: Callable[[], tuple[float, ...]], *, warmup: int, min_count: int, min_time_s: float,
          max_count: int, max_time_s: float | None) -> list[Timing]:
    """Return one ``Timing`` per part of ``step()``'s seconds: first call, ``warmup`` calls, then the stopping rule."""
    first = step()
    warm = [step() for _ in range(warmup)]
    timed: list[tuple[float, ...]] = []
    total = 0.0
    while len(timed) < max_count and (max_time_s is None or total < max_time_s) \
            and (len(timed) < min_count or total < min_time_s):
        parts = step()
        timed.append(parts)
        total += sum(parts)
    return [Timing(first[i], [w[i] for w in warm], [t[i] for t in timed]) for i in range(len(first))]


def time_calls(fn: Callable[[], Any], *, warmup: int = 1, min_count: int = 10, min_time_s: float = 0.0,
               max_count: int = 10_000, max_time_s: float | None = None, sync_device: bool = True,
               before: Callable[[], Any] | None = None, clock: Clock = time.perf_counter) -> Timing:
    """Return the timing of ``fn()`` (+ ``sync()``): first call, ``warmup`` calls, then the timed samples.

    Timed calls go on until there are ``min_count`` samples summing to ``min_time_s`` seconds, unless
    ``max_count`` samples or ``max_time_s`` seconds of samples come first. ``before()`` runs untimed (and
    synchronised) ahead of every call, to prepare its inputs.
    """
    wait = sync if sync_device else _noop

    def step() -> tuple[float]:
        if before is not None:
            before()
            wait()
        t0 = clock()
        fn()
        wait()
        return (clock() - t0,)

    (timing,) = _loop(step, warmup=warmup, min_count=min_count, min_time_s=min_time_s, max_count=max_count,
                      max_time_s=max_time_s)
    return timing


def time_split(fetch: Callable[[], Any], compute: Callable[[Any], Any], *, warmup: int = 1, min_count: int = 10,
               min_time_s: float = 0.0, max_count: int = 10_000, max_time_s: float | None = None,
               sync_device: bool = True, clock: Clock = time.perf_counter) -> SplitTiming:
    """Return data and compute timings of iterations ``batch = fetch(); compute(batch); sync()``.

    The stopping rule is ``time_calls``'s, applied to the iterations' total (data + compute) seconds.
    """
    wait = sync if sync_device else _noop

    def step() -> tuple[float, float]:
        t0 = clock()
        batch = fetch()
        t1 = clock()
        compute(batch)
        wait()
        return t1 - t0, clock() - t1

    data, comp = _loop(step, warmup=warmup, min_count=min_count, min_time_s=min_time_s, max_count=max_count,
                       max_time_s=max_time_s)
    return SplitTiming(data, comp)


def measure_overhead(n: int = 1000, *, sync_device: bool = True, clock: Clock = time.perf_counter) -> dict:
    """Return the harness's own cost in seconds: per timed call of a no-op, per loop iteration, per bare clock pair.

    ``timed_call_s`` is the bias inside every sample of ``time_calls`` (report it as a fraction of a step);
    ``loop_iteration_s`` is the wall time the loop spends per call; ``bare_clock_s`` two clock reads.
    """
    if sync_device:
        sync()  # import mindspore outside the measurement
    t0 = clock()
    timing = time_calls(_noop, warmup=1, min_count=n, max_count=n, sync_device=sync_device, clock=clock)
    loop_s = (clock() - t0) / (n + 2)
    bare = []
    for _ in range(n):
        t = clock()
        bare.append(clock() - t)
    return {"n": n, "sync_device": sync_device, "timed_call_s": statistics.median(timing.samples),
            "loop_iteration_s": loop_s, "bare_clock_s": statistics.median(bare)}
