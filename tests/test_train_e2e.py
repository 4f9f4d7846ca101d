"""End-to-end training CLI: a tiny 4-8-16 run on synthetic images, logs, checkpoints, exact resume, errors.

Each CLI run costs ~25 s on a 2-core machine (compile included); the whole module stays under ~2 min.
"""
import json
import math
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from pgan_ref.synthetic import write_synthetic

pytestmark = pytest.mark.slow

# Spec §7 training log line (ModelZoo format).
LINE_RE = re.compile(r"batch_i:(\d+) alpha:([\d.]+) loss G:(\S+) loss D:(\S+) overflow:(\w+),"
                     r"time:\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+")
SCALES = (4, 8, 16)
ITERS = {4: 8, 8: 12, 16: 12}
TINY = ["--preset", "cpu-smoke", "--set", "scales=[4,8,16]", "--set", "depth=[16,16,16]",
        "--set", "num_batch=[8,12,12]", "--set", "alpha_jumps=[0,4,4]", "--set", "alpha_size_jumps=[1,1,1]",
        "--set", "model_save_step=4", "--set", "log_every=2", "--no_progress"]


def run_cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "pgan_ref.train", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout)


def read_steps(ck: Path) -> list[dict]:
    return [json.loads(line) for line in (ck / "steps_rank0.jsonl").read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("synthetic")
    write_synthetic(d, n=32)
    return d


@pytest.fixture(scope="module")
def full_run(data_dir, tmp_path_factory):
    ck = tmp_path_factory.mktemp("ck_full")
    proc = run_cli("--train_data_path", data_dir, *TINY, "--ckpt_save_dir", ck)
    return proc, ck


def test_full_run_exits_zero_and_logs_finite_losses(full_run):
    proc, ck = full_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = read_steps(ck)
    # one row per iteration of every scale, in order
    assert [(r["scale"], r["i"]) for r in rows] == [(s, i) for s in SCALES for i in range(ITERS[s])]
    for r in rows:
        for k in ("loss_d", "loss_g", "gp", "drift"):
            assert math.isfinite(r[k]), r
    # alpha fades 1 -> 0 in 4 jumps of 1 iteration at scales 8 and 16; always 0 at scale 4
    for s in (8, 16):
        assert [r["alpha"] for r in rows if r["scale"] == s][:5] == [1.0, 0.75, 0.5, 0.25, 0.0]
    assert all(r["alpha"] == 0.0 for r in rows if r["scale"] == 4)


def test_full_run_writes_modelzoo_checkpoints(full_run):
    proc, ck = full_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    for s in SCALES:
        # saved when (i + 1) % model_save_step == 0 (i = iterations done) and at the end of the scale
        expected = sorted({i for i in range(1, ITERS[s] + 1) if (i + 1) % 4 == 0} | {ITERS[s]})
        for i in expected:
            for name in ("G", "AvG", "D"):
                assert (ck / str(s) / f"{name}_{i}.ckpt").is_file(), (s, name, i)


def test_full_run_prints_modelzoo_log_lines(full_run):
    proc, ck = full_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    matches = [LINE_RE.search(line) for line in proc.stdout.splitlines()]
    matches = [m for m in matches if m]
    # log_every=2: iterations-done 2, 4, ... per scale
    assert [int(m.group(1)) for m in matches] == [i for s in SCALES for i in range(2, ITERS[s] + 1, 2)]
    rows = read_steps(ck)
    by_key = {(r["scale"], r["i"] + 1): r for r in rows}
    scale_of = [s for s in SCALES for _ in range(2, ITERS[s] + 1, 2)]
    for s, m in zip(scale_of, matches):
        row = by_key[(s, int(m.group(1)))]
        assert float(m.group(3)) == pytest.approx(row["loss_g"], rel=1e-6)
        assert float(m.group(4)) == pytest.approx(row["loss_d"], rel=1e-6)
        assert float(m.group(2)) == row["alpha"]
        assert m.group(5) == "False"
    for s in SCALES:
        assert f"Scale {s}" in proc.stdout


def test_resume_after_interruption_reproduces_losses_exactly(full_run, data_dir, tmp_path):
    proc, ck_full = full_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    ck = tmp_path / "ck"
    first = run_cli("--train_data_path", data_dir, *TINY, "--ckpt_save_dir", ck, "--stop_after", 15)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "stopped" in first.stdout
    rows_first = read_steps(ck)
    assert len(rows_first) == 15  # 8 at scale 4, 7 at scale 8 (mid-scale, after the fade)
    assert not (ck / "16").exists()
    second = run_cli("--train_data_path", data_dir, *TINY, "--ckpt_save_dir", ck)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "complete" in second.stdout
    rows = read_steps(ck)
    assert len(rows) > 15  # the second run appended
    # the second run restarted from the last complete checkpoint (scale 8 after 7 iterations:
    # (7 + 1) % model_save_step == 0), not from scratch nor from the end of scale 4
    resumed = rows[15:]
    assert (resumed[0]["scale"], resumed[0]["i"]) == (8, 7)
    assert len(resumed) == (ITERS[8] - 7) + ITERS[16]
    ref = defaultdict(list)
    for r in read_steps(ck_full):
        ref[(r["scale"], r["i"])].append(r)
    seen = set()
    for r in rows:  # every row, including the replayed ones, equals the uninterrupted run bitwise
        key = (r["scale"], r["i"])
        seen.add(key)
        (want,) = ref[key]
        for k in ("loss_d", "loss_g", "gp", "drift", "alpha"):
            assert r[k] == want[k], (key, k, r[k], want[k])
    assert seen == set(ref)


def test_resume_at_a_scale_boundary_reproduces_losses_exactly(full_run, data_dir, tmp_path):
    proc, ck_full = full_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    ck = tmp_path / "ck"
    first = run_cli("--train_data_path", data_dir, *TINY, "--ckpt_save_dir", ck, "--stop_after", ITERS[4])
    assert first.returncode == 0, first.stderr[-3000:]
    assert (ck / "4" / f"state_{ITERS[4]}.json").is_file() and not (ck / "8").exists()
    second = run_cli("--train_data_path", data_dir, *TINY, "--ckpt_save_dir", ck)
    assert second.returncode == 0, second.stderr[-3000:]
    rows = read_steps(ck)
    assert [(r["scale"], r["i"]) for r in rows] == [(s, i) for s in SCALES for i in range(ITERS[s])]
    ref = {(r["scale"], r["i"]): r for r in read_steps(ck_full)}
    for r in rows:
        want = ref[(r["scale"], r["i"])]
        assert (r["loss_d"], r["loss_g"]) == (want["loss_d"], want["loss_g"]), (r["scale"], r["i"])


def test_missing_data_folder_fails_fast_with_exit_2(tmp_path):
    missing = tmp_path / "no_such_folder"
    proc = run_cli("--train_data_path", missing, "--preset", "cpu-smoke", "--ckpt_save_dir", tmp_path / "ck",
                   timeout=60)
    assert proc.returncode == 2
    assert str(missing) in proc.stderr and "does not exist" in proc.stderr
    assert "synthetic" in proc.stderr  # tells the user how to fix it
    assert not (tmp_path / "ck").exists()  # nothing trained or written


def test_bad_set_key_fails_with_exit_2_naming_the_key(data_dir, tmp_path):
    proc = run_cli("--train_data_path", data_dir, "--preset", "cpu-smoke", "--set", "learning_rate=0.1",
                   "--ckpt_save_dir", tmp_path / "ck", timeout=60)
    assert proc.returncode == 2
    assert "learning_rate" in proc.stderr
    assert not (tmp_path / "ck").exists()
