"""The A/B driver's plan and sampling on simulated rounds (no workers): early verdicts, budget said, never short."""
import math

import numpy as np
import pytest

from harness.ab import driver
from harness.ab.driver import ABRun, Entry, EntryState, Settings
from harness.ab.revisions import Revision
from harness.judge.verdicts import Verdict
from harness.records.store import RecordStore


class Clock:
    """A fake monotonic clock that only simulated rounds advance."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def simulated_run(tmp_path, monkeypatch, effects: dict, settings: Settings, cost_s: float = 1.0, sigma=0.02):
    """Return (run, clock): an ABRun whose rounds draw step times, head/base = ``effects[entry]`` with per-round
    noise ``sigma``, each round costing ``cost_s`` seconds of the fake clock."""
    clock = Clock()
    monkeypatch.setattr(driver.time, "monotonic", clock)
    run = object.__new__(ABRun)
    run.s, run.run_id, run.meta, run.threads, run.rounds = settings, "r", {}, 1, 0
    run.states = [EntryState(Entry(int(k.split(":")[0]), k.split(":")[1])) for k in effects]
    run.store, run.cores, run.workers, run.summary = RecordStore(tmp_path), (0, 1), {}, []
    run.versions = {"base": {}, "head": {}}
    run.revs = {role: Revision(role, role, "0" * 40, False, None) for role in ("base", "head")}
    run.looks = driver.ab_stats.look_schedule(settings.min_blocks, settings.max_blocks)
    rng = np.random.default_rng(0)
    for st in run.states:
        st.prepared = {role: {"warm_median_s": cost_s} for role in ("base", "head")}

    def fake_round(st):
        base = 0.1 * math.exp(rng.normal(0, 0.3))  # machine drift: shared by the pair
        head = base * effects[st.entry.name] * math.exp(rng.normal(0, sigma))
        clock.now += cost_s
        st.round_s.append(cost_s)
        return {role: ({"wall_s": [x], "cpu_s": [x], "injected_s": [0.0]}, 0) for role, x in
                (("base", base), ("head", head))}

    run._round = fake_round
    return run, clock


def test_a_gross_change_is_decided_at_the_first_look_and_a_null_sampled_on(tmp_path, monkeypatch):
    run, clock = simulated_run(tmp_path, monkeypatch, {"4:stable": 2.0, "8:fade": 1.0}, Settings(budget_s=1000))
    said = []
    run.sample(clock() + 1000, say=said.append)
    gross, null = run.states
    assert gross.verdict.verdict == Verdict.REGRESSED and gross.blocks == 3 == gross.verdict.n
    assert null.verdict.verdict == Verdict.NO_CHANGE and null.blocks > 3
    assert null.blocks in run.looks  # sampled to a planned look, not beyond
    assert "the first look (3 blocks each) needs ~12 s of 1000 s left" in said[0]


def test_a_budget_too_small_is_said_before_sampling_and_in_the_reasons(tmp_path, monkeypatch):
    effects = {"4:stable": 1.0, "8:fade": 1.0, "16:stable": 1.0}
    run, clock = simulated_run(tmp_path, monkeypatch, effects, Settings(budget_s=10), cost_s=1.0)
    said = []
    run.sample(clock() + 10, say=said.append)
    assert "cannot reach a verdict for every entry: the first looks need ~18 s, 10 s left" in said[1]
    assert "raise --budget-s by ~8 s" in said[1]
    assert clock() == pytest.approx(10)  # the budget, not more
    assert [st.blocks for st in run.states] == [3, 2, 0]  # one after the other: the first reached its first look
    for st in run.states:
        assert st.verdict.verdict == Verdict.INCONCLUSIVE and "budget spent" in st.verdict.reason


def test_suspected_changes_are_sampled_first(tmp_path, monkeypatch):
    # after the first look a +12 % entry (beyond the 5 % threshold, not yet decided) goes before a null one
    effects = {"4:stable": 1.0, "8:fade": 1.12}
    run, clock = simulated_run(tmp_path, monkeypatch, effects, Settings(budget_s=1000), sigma=0.08)
    for st in run.states:
        for _ in range(6):
            run._record_round(st, run._round(st))
        run.decide(st)
    null, suspect = run.states
    assert null.verdict.verdict == suspect.verdict.verdict == Verdict.INCONCLUSIVE
    assert sorted(run.states, key=run._priority)[0] is suspect
