"""Tests of the msrun launcher: all-reduce results, dead and hung ranks, busy ports, interrupts, two nodes."""
import json
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

import harness.runs.launch as launch
from harness.runs.launch import LaunchError, launch_msrun, local_ranks, worker_done

WORKER = str(Path(__file__).parent / "workers" / "allreduce_worker.py")


def _leftovers(run_dir: Path) -> list[str]:
    """Return the command lines of live processes that mention ``run_dir`` (msrun, tails, scheduler, workers)."""
    found = []
    for p in psutil.process_iter(["cmdline", "status"], ad_value=None):
        cmd = " ".join(p.info["cmdline"] or ())
        if str(run_dir) in cmd and p.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(cmd)
    return found


def _launch(tmp_path: Path, *worker_args: str, name: str = "run", **kw):
    results = tmp_path / name / "results"
    kw.setdefault("workers", 2)
    kw.setdefault("timeout_s", 120)
    return launch_msrun([WORKER, "--results-dir", str(results), *worker_args], log_dir=tmp_path / name / "logs",
                        results_dir=results, **kw)


def test_worker_done_writes_rank_file_atomically(tmp_path, monkeypatch):
    monkeypatch.setenv("RANK_ID", "3")
    path = worker_done(tmp_path / "res", status="ok", loss=1.5)
    assert path.name == "rank_3.done.json"
    row = json.loads(path.read_text())
    assert (row["rank"], row["status"], row["loss"]) == (3, "ok", 1.5)
    assert [p.name for p in path.parent.iterdir()] == ["rank_3.done.json"]  # no temporary file left


def test_local_ranks_per_node():
    assert local_ranks(4, 4, 0) == [0, 1, 2, 3]
    assert local_ranks(4, 2, 1) == [2, 3]


def test_inconsistent_layout_and_missing_port_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="master_port is required"):
        launch_msrun([WORKER], workers=2, local_workers=1, node_rank=1, log_dir=tmp_path, results_dir=tmp_path,
                     timeout_s=10)
    with pytest.raises(ValueError, match="inconsistent"):
        launch_msrun([WORKER], workers=2, local_workers=1, node_rank=2, master_port=1234, log_dir=tmp_path,
                     results_dir=tmp_path, timeout_s=10)


def test_busy_port_is_a_clear_error_before_launch(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        t0 = time.monotonic()
        with pytest.raises(LaunchError, match=f"master port {port} .* already in use"):
            _launch(tmp_path, master_port=port)
    assert time.monotonic() - t0 < 5
    assert not (tmp_path / "run" / "logs" / "msrun.log").exists()


def test_free_port_is_bindable():
    port = launch.free_port()
    assert 1024 <= port <= 65535 and launch.port_is_free("127.0.0.1", port)


@pytest.mark.slow
def test_two_workers_all_reduce(tmp_path):
    res = _launch(tmp_path).raise_for_status()
    assert sorted(res.ranks) == [0, 1]
    assert [res.ranks[r].info["allreduce_sum"] for r in (0, 1)] == [3.0, 3.0]  # (0 + 1) + (1 + 1)
    assert [res.ranks[r].info["group_size"] for r in (0, 1)] == [2, 2]
    assert _leftovers(res.log_dir.parent) == []


@pytest.mark.slow
def test_dead_rank_fails_the_run_in_bounded_time_without_orphans(tmp_path):
    res = _launch(tmp_path, "--die-rank", "1")
    assert not res.ok
    assert res.ranks[1].status == "died" and 1 in res.failed_ranks
    assert res.message.startswith("rank 1 died")
    assert res.elapsed_s < 90
    with pytest.raises(LaunchError, match="rank 1 died"):
        res.raise_for_status()
    assert _leftovers(res.log_dir.parent) == []


@pytest.mark.slow
def test_rank_reporting_an_error_fails_the_run(tmp_path):
    res = _launch(tmp_path, "--fail-rank", "0")
    assert not res.ok and res.ranks[0].status == "error" and res.ranks[0].info["error"] == "injected failure"
    assert res.message.startswith("rank 0 error: result file says injected failure")
    assert _leftovers(res.log_dir.parent) == []


@pytest.mark.slow
def test_hung_rank_is_stopped_after_straggler_window(tmp_path):
    res = _launch(tmp_path, "--hang-rank", "1", straggler_s=5)
    assert not res.ok and res.ranks[0].ok
    assert res.ranks[1].status == "hung" and "rank(s) 1 not done 5 s after" in res.message
    assert _leftovers(res.log_dir.parent) == []


@pytest.mark.slow
def test_sigint_to_the_launcher_cleans_up_every_process(tmp_path):
    results, logs = tmp_path / "results", tmp_path / "logs"
    script = ("from harness.runs.launch import launch_msrun; "
              f"launch_msrun([{WORKER!r}, '--results-dir', {str(results)!r}, '--hang-rank', '1'], workers=2, "
              f"log_dir={str(logs)!r}, results_dir={str(results)!r}, timeout_s=300)")
    launcher = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (results / "rank_0.done.json").exists() and launcher.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)  # rank 0 is done, rank 1 hangs: the whole cluster is up
    launcher.send_signal(signal.SIGINT)
    _, err = launcher.communicate(timeout=60)
    assert "KeyboardInterrupt" in err
    assert _leftovers(tmp_path) == []


@pytest.mark.slow
def test_two_nodes_on_loopback(tmp_path):
    port = launch.free_port()
    results: dict[int, launch.LaunchResult] = {}

    def node(rank: int) -> None:
        results[rank] = _launch(tmp_path, name=f"node{rank}", local_workers=1, node_rank=rank, master_port=port)

    threads = [threading.Thread(target=node, args=(r,)) for r in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    assert sorted(results) == [0, 1]
    for node_rank, res in results.items():
        res.raise_for_status()
        assert list(res.ranks) == [node_rank]
        assert res.ranks[node_rank].info["allreduce_sum"] == 3.0
        assert _leftovers(res.log_dir.parent) == []
