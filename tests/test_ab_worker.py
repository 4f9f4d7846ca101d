"""The A/B worker protocol: replies without MindSpore, then one tiny entry through two real worker processes."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.ab import worker as ab_worker
from harness.ab.driver import Entry, Settings, run_ab
from harness.ab.revisions import describe, with_worker
from harness.records.store import RecordStore

REPO = Path(__file__).resolve().parents[1]


def test_serve_reports_errors_and_keeps_serving_until_quit():
    replies = []
    code = ab_worker.serve(['{"op": "bogus"}', "not json", '{"op": "run", "entry": "x", "k": 1}',
                            '{"op": "quit"}', '{"op": "hello"}'], replies.append)
    assert code == 0 and len(replies) == 4  # nothing is read after quit
    assert [r["ok"] for r in replies] == [False, False, False, True]
    assert "unknown op 'bogus'" in replies[0]["error"] and "KeyError" in replies[2]["error"]


def test_injected_work_lasts_its_fraction_of_the_step(monkeypatch):
    work = ab_worker.injected_work(0.1)
    clock = iter(range(100))  # a fake clock: every read advances one second
    monkeypatch.setattr(ab_worker.time, "perf_counter", lambda: next(clock))
    work(40.0)  # 10% of a 40 s step: compute until 4 s have passed
    assert next(clock) == 5  # read 0 sets the end at 4; reads 1, 2, 3 each run a product; read 4 ends the loop


def code_repo(folder: Path) -> Path:
    """Return a one-commit git repository holding this checkout's code (the tests may run from a plain copy)."""
    for name in ("harness", "pgan_ref"):
        shutil.copytree(REPO / name, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", folder)
    git = ["git", "-C", str(folder), "-c", "user.name=t", "-c", "user.email=t@t"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "code"]):
        subprocess.run(git + args, check=True)
    return folder


@pytest.mark.slow
def test_two_real_workers_measure_one_entry_and_leave_nothing_running(tmp_path):
    repo = code_repo(tmp_path / "repo")
    other = tmp_path / "python"  # the head runs in "another environment": an interpreter given by path
    other.write_text(f"#!/bin/sh\nexec {sys.executable} \"$@\"\n")
    other.chmod(0o755)
    head = with_worker(repo, describe(repo, None, "head", str(other)))
    base = with_worker(repo, describe(repo, None, "base"))
    settings = Settings(burst=2, min_blocks=2, max_blocks=2, budget_s=600)
    out = tmp_path / "out"
    run = run_ab(base, head, [Entry(4, "stable", inject=0.1)], settings, out)
    (st,) = run.states
    assert st.prepared["head"]["inject"] == 0.1 and st.prepared["base"]["inject"] == 0
    assert len(st.samples[("base", "wall")]) == len(st.samples[("head", "cpu")]) == 8  # 2 blocks: 4 rounds x 2
    assert st.rounds == [0, 0, 1, 1, 2, 2, 3, 3]
    assert len(st.injected) == 8 and st.injected_fraction() > 0  # the head's extra work is timed apart too
    assert all(w.proc.poll() is not None for w in run.workers.values())
    records = RecordStore(out).read()
    steps = [r for r in records if r["metric"] == "step_time"]
    assert {r["labels"]["role"] for r in steps} == {"base", "head"}
    assert {r["labels"]["python_executable"] for r in steps} == {sys.executable, str(other)}
    assert {r["labels"]["mindspore"] for r in steps} == {"2.10.0"}  # each side's version, from its worker
    assert len({r["labels"]["core"] for r in steps}) == 2  # the sides swapped cores
    assert [r["labels"]["pair_start"] for r in steps if r["labels"]["role"] == "base"] == [0, 2, 4, 6]
    assert all(r["labels"]["commit"] == head.commit for r in steps)
    assert {r["labels"]["role"] for r in records if r["metric"] == "injected_time"} == {"head"}
    (summary,) = [r for r in records if r["metric"] == "ab_ratio"]
    assert summary["labels"]["verdict"] == st.verdict.verdict and summary["labels"]["n"] == 2
    json.dumps(records)


def test_todays_worker_runs_an_old_revisions_flat_step_api(tmp_path, flat_step_api):
    """A revision older than the worker (flat layout, resolve_config returning the config alone): today's worker,
    copied beside its code, serves the protocol with that revision's own steps."""
    import os

    from harness.ab import revisions as revs
    from harness.ab.driver import WorkerProcess
    code = flat_step_api(tmp_path / "old")
    with revs.today_worker() as today:
        rev = revs.Revision("head", "old", "0" * 40, False, code, worker=revs.TODAY_WORKER, worker_path=str(today))
        w = WorkerProcess(rev, tmp_path / "worker.log", set(os.sched_getaffinity(0)))
        try:
            assert w.request("hello")["protocol"] == ab_worker.PROTOCOL
            w.request("prepare", entry="8:fade", preset="p", scale=8, phase="fade", seed=0, warmup=1, warm=1)
            assert len(w.request("run", entry="8:fade", k=3)["wall_s"]) == 3
            w.send("prepare", entry="8:x", preset="p", scale=8, phase="x", seed=0)
            with pytest.raises(Exception, match=r"scale 8 has no phase 'x'; it has fade, stable"):
                w.receive()  # the phases are the old revision's own
        finally:
            w.close()
    assert w.proc.poll() is not None
