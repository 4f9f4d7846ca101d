"""Issue 24, the mistakes a user makes with report, ingest-log, fid, compare and baseline: exit 2 and one line
naming the file and what is accepted; nothing overwritten or claimed that was not written."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from harness.judge.baseline_files import load_baseline

from .conftest import PGAN_CARD, REPO
from .test_cli_contract import harness, in_process, one_line_error
from .test_gate import write_run
from .test_ingest import MODELZOO

STATS_LAYOUT = "pytorch-fid's layout: 'mu' (2048,) and 'sigma' (2048, 2048), finite numbers"


@pytest.fixture
def a_file(tmp_path):
    """An existing plain text file that is not a folder or a baseline."""
    path = tmp_path / "notes.txt"
    path.write_text("my notes\n")
    return path


def test_out_that_is_a_file_is_bad_input(tmp_path, a_file):
    """Item 1: report / ingest-log / run / bench --out EXISTING_FILE exit 2 with one line naming it (run and bench
    before measuring anything); the file is untouched."""
    write_run(tmp_path / "res", "r", seed=1)
    (tmp_path / "train.log").write_text(MODELZOO)
    for cmd in (["report", "--results", str(tmp_path / "res")], ["ingest-log", str(tmp_path / "train.log")],
                ["run", "step-time", "--preset", "cpu-smoke"], ["bench", "--smoke", "--no-report"]):
        r = harness(*cmd, "--out", str(a_file))
        assert r.returncode == 2, r.stderr
        assert one_line_error(r.stderr) == (f"error: --out {a_file}: cannot write there ({a_file} is a file, not a "
                                            f"folder); expected a folder (created if missing)")
        assert a_file.read_text() == "my notes\n" and "appended" not in r.stdout


def test_bench_smoke_with_other_scenarios_is_bad_input(tmp_path):
    """--smoke times step-time only: asking it for other scenarios is one line, exit 2, nothing run or written."""
    r = harness("bench", "--smoke", "--scenarios", "fid", "--out", str(tmp_path / "out"))
    assert r.returncode == 2, r.stderr
    assert one_line_error(r.stderr) == ("error: --smoke runs the step-time benchmarks only; drop --scenarios fid "
                                        "or --smoke")
    assert not (tmp_path / "out").exists()


def test_missing_log_is_one_error_line_and_nothing_is_written(tmp_path):
    """Item 4: a missing log (alone, or after a good one) is one error line, exit 2; no records file, no claim."""
    good, out = tmp_path / "train.log", tmp_path / "out"
    good.write_text(MODELZOO)
    for logs in ([tmp_path / "missing.log"], [good, tmp_path / "missing.log"]):
        r = harness("ingest-log", *map(str, logs), "--out", str(out))
        assert r.returncode == 2 and r.stdout == ""
        assert one_line_error(r.stderr) == (f"error: cannot read log {tmp_path / 'missing.log'} (No such file or "
                                            f"directory); expected ModelZoo / pytorch_GAN_zoo training logs or a 310 "
                                            f"time_Result file (see --format)")
        assert not out.exists()


@pytest.mark.parametrize("make, what", [(os.mkdir, "a folder"), (os.mkfifo, "not a regular file (a pipe?)")])
def test_a_log_that_is_not_a_file_is_refused_without_reading_it(tmp_path, capsys, make, what):
    """Item 4: a folder or a pipe (read twice, it would come back empty) is one error line; a pipe is not opened."""
    make(tmp_path / "log")
    code, err = in_process(capsys, "ingest-log", str(tmp_path / "log"), "--out", str(tmp_path / "out"))
    assert code == 2 and one_line_error(err).startswith(f"error: log {tmp_path / 'log'} is {what}")
    assert not (tmp_path / "out").exists()


def test_log_without_records_creates_no_file(tmp_path, capsys):
    """Item 4: nothing recognised -> exit 2, no records file created and no 'records appended' claim."""
    (tmp_path / "other.txt").write_text("nothing to see\n")
    code, err = in_process(capsys, "ingest-log", str(tmp_path / "other.txt"), "--out", str(tmp_path / "out"))
    assert code == 2 and one_line_error(err).startswith(f"error: no record recognised in {tmp_path / 'other.txt'}")
    assert not (tmp_path / "out" / "records.jsonl").exists()


def test_truncated_npz_is_named(tmp_path, capsys):
    """Item 1: fid --real TRUNCATED.npz (statistics or images) exits 2 naming the file, not BadZipFile."""
    np.savez(tmp_path / "stats.npz", mu=np.zeros(2048), sigma=np.eye(2048))
    data = (tmp_path / "stats.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    np.save(tmp_path / "fake.npy", np.zeros((2, 8, 8, 3), np.uint8))
    code, err = in_process(capsys, "fid", "--real", str(tmp_path / "cut.npz"), "--fake", str(tmp_path / "fake.npy"))
    line = one_line_error(err)
    assert code == 2 and line.startswith(f"error: cannot read {tmp_path / 'cut.npz'}: File is not a zip file"), line
    assert STATS_LAYOUT in line


def _stats(tmp_path, name, **arrays):
    np.savez(tmp_path / name, **arrays)
    return tmp_path / name


@pytest.mark.parametrize("name, arrays, found", [
    ("small.npz", {"mu": np.zeros(64), "sigma": np.eye(64)}, "'mu' has shape (64,) and 'sigma' (64, 64)"),
    ("nan.npz", {"mu": np.zeros(2048), "sigma": np.where(np.eye(2048, k=1) > 0, np.nan, np.eye(2048))},
     "holds 2047 NaN/inf values in 'sigma'"),
    ("inf.npz", {"mu": np.full(2048, np.inf), "sigma": np.eye(2048)}, "holds 2048 NaN/inf values in 'mu'"),
    ("meancov.npz", {"mean": np.zeros(2048), "cov": np.eye(2048)},
     "holds arrays ['mean', 'cov'], not both 'mu' and 'sigma'"),
    ("text.npz", {"mu": np.array(["0"] * 2048), "sigma": np.eye(2048)}, "'mu' holds <U1 values, not real numbers"),
])
def test_bad_statistics_files_name_what_was_found_and_the_layout(tmp_path, capsys, name, arrays, found):
    """Item 3: wrong size, NaN/inf, other keys or types: the file, what it holds and pytorch-fid's layout."""
    path = _stats(tmp_path, name, **arrays)
    np.save(tmp_path / "fake.npy", np.zeros((2, 8, 8, 3), np.uint8))
    code, err = in_process(capsys, "fid", "--real", str(path), "--fake", str(tmp_path / "fake.npy"))
    assert code == 2
    assert one_line_error(err) == f"error: statistics file {path}: {found}; expected {STATS_LAYOUT}"


def test_statistics_given_as_fake_are_refused(tmp_path, capsys):
    """Item 3: a statistics file as --fake names the file, its arrays and what --fake accepts."""
    path = _stats(tmp_path, "stats.npz", mu=np.zeros(2048), sigma=np.eye(2048))
    np.save(tmp_path / "real.npy", np.zeros((2, 8, 8, 3), np.uint8))
    code, err = in_process(capsys, "fid", "--real", str(tmp_path / "real.npy"), "--fake", str(path))
    assert code == 2
    assert one_line_error(err) == (f"error: --fake {path} holds arrays ['mu', 'sigma'], not images: expected a folder "
                                   f"of images or a .npy/.npz holding an images array named 'images' or 'arr_0' (or "
                                   f"the file's only array) (statistics are accepted as --real only)")


def test_compare_with_nothing_in_common_exits_2(tmp_path, capsys):
    """Item 2: two runs without a common (scenario, metric, labels) cannot be compared: exit 2, one line."""
    a = write_run(tmp_path / "a", "a", seed=1)
    b = write_run(tmp_path / "b", "b", seed=2)
    records = [json.loads(line) for line in (b / "records.jsonl").read_text().splitlines()]
    (b / "records.jsonl").write_text("".join(json.dumps({**r, "labels": {**r["labels"], "batch_size": 32}}) + "\n"
                                             for r in records))
    code, err = in_process(capsys, "compare", str(a), str(b))
    assert code == 2
    assert one_line_error(err) == (f"error: {a} and {b} have no measurement in common (same scenario, metric and "
                                   f"labels): step-time/step_time labels differ: batch_size 16 in {a}, 32 in {b}")
    code, err = in_process(capsys, "compare", str(a), str(a), "--metric", "fid")
    assert code == 2 and "have no measurement of metric fid in common" in one_line_error(err)
    fid = write_run(tmp_path / "fid", "f", fid=30.0)
    (fid / "records.jsonl").write_text((fid / "records.jsonl").read_text().splitlines()[-1] + "\n")
    code, err = in_process(capsys, "compare", str(a), str(fid))
    assert code == 2 and one_line_error(err).endswith(f"{a} has step-time/step_time; {fid} has fid/fid")


def test_gate_with_nothing_in_common_exits_2(tmp_path, capsys):
    """Like compare: a gate whose results share no (scenario, metric, labels) with the baseline cannot pass."""
    base = tmp_path / "baseline.json"
    assert in_process(capsys, "baseline", "--from-results", str(write_run(tmp_path / "a", "a")), "--out",
                      str(base))[0] == 0
    b = write_run(tmp_path / "b", "b", seed=2)
    records = [json.loads(line) for line in (b / "records.jsonl").read_text().splitlines()]
    (b / "records.jsonl").write_text("".join(json.dumps({**r, "labels": {**r["labels"], "phase": "fade"}}) + "\n"
                                             for r in records))
    code, err = in_process(capsys, "gate", "--baseline", str(base), "--results", str(b))
    assert code == 2
    assert one_line_error(err) == (f"error: {base} and {b} have no measurement in common (same scenario, metric and "
                                   f"labels): step-time/step_time labels differ: phase stable in {base}, fade in {b}")


def test_report_and_compare_messages_begin_with_error(tmp_path, capsys):
    """Item 7: like every other command, report and compare say ``error:`` first."""
    r = harness("report", "--results", str(tmp_path / "empty"), "--out", str(tmp_path / "rep"))
    assert r.returncode == 2
    assert one_line_error(r.stderr) == (f"error: no records under {tmp_path / 'empty'}; expected result folders "
                                        f"holding records.jsonl")
    code, err = in_process(capsys, "compare", "nope", "nada", "--results", str(tmp_path))
    assert code == 2 and one_line_error(err) == (f"error: no records for 'nope'; expected a result directory, or a "
                                                 f"run id under {tmp_path}")


def test_baseline_refuses_to_overwrite_a_file_that_is_not_a_baseline(tmp_path, capsys, a_file):
    """Item 6: a non-baseline --out is refused (kept as it was) unless --force; a baseline is replaced whole."""
    card = ["baseline", "--from-model-card", str(PGAN_CARD)]
    code, err = in_process(capsys, *card, "--out", str(a_file))
    assert code == 2 and a_file.read_text() == "my notes\n"
    assert one_line_error(err) == (f"error: --out {a_file} exists and is not a pgan-harness baseline file (format "
                                   f"'pgan-harness-baseline/1'): pass --force to replace it, or choose another file")
    assert in_process(capsys, *card, "--out", str(a_file), "--force")[0] == 0
    assert load_baseline(a_file, "model-card")["tables"]
    measured = tmp_path / "measured.json"
    assert in_process(capsys, "baseline", "--from-results", str(write_run(tmp_path / "res", "r")), "--out",
                      str(measured))[0] == 0
    assert in_process(capsys, *card, "--out", str(measured))[0] == 0  # a baseline file is replaced without --force
    assert load_baseline(measured)["kind"] == "model-card"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["measured.json", "notes.txt", "res"]  # no temporary left


def test_cpu_threads_above_the_usable_cores_warn_once(tmp_path):
    """Item 7: PGAN_CPU_THREADS above the usable cores is accepted and recorded, with one warning line."""
    cores = len(os.sched_getaffinity(0))
    (tmp_path / "t.txt").write_text("NN inference cost average time: 1.5 ms of infer_count 1\n")
    r = subprocess.run([sys.executable, "-m", "harness", "ingest-log", str(tmp_path / "t.txt"), "--device", "CPU",
                        "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=300,
                       env={**os.environ, "PYTHONPATH": str(REPO), "PGAN_CPU_THREADS": str(cores + 1)})
    assert r.returncode == 0
    assert r.stderr == (f"warning: PGAN_CPU_THREADS={cores + 1} is more than the {cores} usable CPU cores: accepted, "
                        f"but the threads will share cores\n")
    record = json.loads((tmp_path / "out" / "records.jsonl").read_text())
    assert record["meta"]["cpu_threads"] == cores + 1


def test_a_light_command_does_not_load_mindspore(tmp_path):
    """Item 5: the CLI registers only the command it runs, so ingest-log's memory is its own (MindSpore, which
    `run`'s scenarios import, is ~400 MB of resident memory); --help still lists every command."""
    (tmp_path / "t.txt").write_text("NN inference cost average time: 1.5 ms of infer_count 1\n")
    probe = ("import sys; from harness.cli import main; "
             f"code = main(['ingest-log', {str(tmp_path / 't.txt')!r}, '--out', {str(tmp_path / 'out')!r}]); "
             "print(code, 'mindspore' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300,
                       env={**os.environ, "PYTHONPATH": str(REPO)})
    assert r.stdout.splitlines()[-1] == "0 False", r.stderr
    listed = harness("--help").stdout
    assert all(name in listed for name in ("ingest-log", "check-log", "calibrate", "compare", "baseline", "bench"))
