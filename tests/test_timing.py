"""Tests of the timing core with a scripted clock: first call and warm-up apart, stopping rules, statistics."""
import itertools

import numpy as np
import pytest

import harness.scenarios.timing as timing
from harness.scenarios.timing import measure_overhead, time_calls, time_split


class ScriptedClock:
    """A clock that moves only when ``advance()`` is called, by the next scripted duration."""

    def __init__(self, durations):
        self.now = 0.0
        self.durations = iter(durations)

    def __call__(self) -> float:
        return self.now

    def advance(self, *_) -> None:
        self.now += next(self.durations)


def test_first_call_and_warmup_are_kept_apart_from_samples():
    clock = ScriptedClock([5.0, 1.0, 1.5, 2.0, 3.0, 4.0])
    t = time_calls(clock.advance, warmup=2, min_count=3, sync_device=False, clock=clock)
    assert t.first_s == 5.0
    assert t.warmup_s == [1.0, 1.5]
    assert t.samples == [2.0, 3.0, 4.0]


@pytest.mark.parametrize("min_count, min_time_s, expected", [(2, 3.0, 6), (8, 1.0, 8), (1, 0.0, 1)])
def test_min_count_and_min_time_are_both_reached(min_count, min_time_s, expected):
    clock = ScriptedClock(itertools.repeat(0.5))
    t = time_calls(clock.advance, warmup=1, min_count=min_count, min_time_s=min_time_s, sync_device=False,
                   clock=clock)
    assert len(t.samples) == expected


def test_max_count_and_max_time_stop_before_the_minimums():
    clock = ScriptedClock(itertools.repeat(1.0))
    assert len(time_calls(clock.advance, min_time_s=100, max_count=5, sync_device=False, clock=clock).samples) == 5
    assert len(time_calls(clock.advance, min_count=100, max_time_s=3.5, sync_device=False, clock=clock).samples) == 4


def test_stats_are_numpy_percentiles_of_the_kept_samples():
    durations = np.random.default_rng(0).exponential(0.1, size=60)
    clock = ScriptedClock(durations)
    t = time_calls(clock.advance, warmup=3, min_count=56, max_count=56, sync_device=False, clock=clock)
    assert t.samples == pytest.approx(durations[4:].tolist(), abs=1e-12)
    stats = t.stats()
    q1, med, q3, p90, p99 = np.percentile(t.samples, [25, 50, 75, 90, 99])
    assert stats["n"] == 56
    assert (stats["q1"], stats["median"], stats["q3"], stats["p90"], stats["p99"]) == (q1, med, q3, p90, p99)
    assert stats["iqr"] == q3 - q1


def test_before_runs_untimed_and_sync_follows_every_call(monkeypatch):
    syncs = []
    monkeypatch.setattr(timing, "sync", lambda: syncs.append(1))
    clock = ScriptedClock(itertools.cycle([100.0, 1.0]))  # before() takes 100 s, the call 1 s
    t = time_calls(clock.advance, warmup=1, min_count=4, before=clock.advance, clock=clock)
    assert t.first_s == 1.0 and t.samples == [1.0] * 4
    assert len(syncs) == 2 * (1 + 1 + 4)  # after before() and after the call


def test_split_timer_separates_data_and_compute():
    clock = ScriptedClock([9.0, 8.0, 0.1, 1.0, 0.2, 2.0, 0.3, 3.0, 0.4, 4.0])
    split = time_split(clock.advance, clock.advance, warmup=0, min_count=4, sync_device=False, clock=clock)
    assert (split.data.first_s, split.compute.first_s) == (9.0, 8.0)
    assert split.data.samples == pytest.approx([0.1, 0.2, 0.3, 0.4])
    assert split.compute.samples == pytest.approx([1.0, 2.0, 3.0, 4.0])


def test_split_timer_passes_the_batch_and_stops_on_total_time():
    clock = ScriptedClock(itertools.repeat(0.5))
    batches = iter(range(100))
    seen = []
    split = time_split(lambda: (clock.advance(), next(batches))[1], lambda b: (seen.append(b), clock.advance()),
                       warmup=1, min_count=1, min_time_s=2.5, sync_device=False, clock=clock)
    assert len(split.compute.samples) == 3  # 1 s per iteration of data + compute
    assert seen == [0, 1, 2, 3, 4]


def test_measure_overhead_reports_per_call_costs():
    ticks = itertools.count()
    overhead = measure_overhead(50, sync_device=False, clock=lambda: float(next(ticks)))
    assert overhead["n"] == 50
    assert overhead["timed_call_s"] == 1.0 and overhead["bare_clock_s"] == 1.0  # one tick between two reads
    assert overhead["loop_iteration_s"] > 0


def test_sync_spends_mindspore_first_call_check():
    from mindspore.runtime.stream import function_stream_status

    timing.sync()  # on CPU, MindSpore's first synchronize() only logs "not supported": sync() must wait already
    assert function_stream_status["synchronize"] is True
    assert measure_overhead(5)["sync_device"] is True


def test_time_calls_on_a_mindspore_op():
    import numpy as np
    from mindspore import Tensor, ops

    x = Tensor(np.ones((64, 64), np.float32))
    t = time_calls(lambda: ops.matmul(x, x), warmup=2, min_count=3, max_count=3)
    assert len(t.warmup_s) == 2 and len(t.samples) == 3 and t.first_s > 0
    assert t.stats()["n"] == 3
