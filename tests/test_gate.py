"""Tests of the regression gate, measured baselines, compare and calibration (synthetic records)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from harness.cli import main
from harness.judge import gate
from harness.judge.baseline_files import calibration, load_baseline, save_baseline
from harness.judge.entries import group_entries
from harness.judge.verdicts import Verdict
from harness.records.machine import fingerprint
from harness.records.store import RecordStore, make_record, read_records

META = {"device": "CPU", "device_count": 1, "mindspore": "2.10.0", "cann": None, "memory_gib": 8,
        "hostname": "box-a", "cpu": {"brand": "Test CPU", "arch": "X86_64", "count": 2, "flags_sha256": "ab",
                                     "hz_actual": "2.1 GHz"}, "env": {"ONEDNN_MAX_CPU_ISA": "AVX2"}}
PARAMS = {"preset": "cpu-smoke", "variant": "reference", "device": "CPU", "devices": 1}


def meta(**changes) -> dict:
    """Return the test machine's meta with some fields changed (dotted 'cpu.x' keys allowed)."""
    m = json.loads(json.dumps(META))
    for key, value in changes.items():
        *path, last = key.split("__")
        d = m
        for p in path:
            d = d[p]
        d[last] = value
    m["machine_fingerprint"] = fingerprint(m)
    return m


def write_run(path, run_id, scale_factor=1.0, n=15, noise=0.05, seed=0, m=None, losses=None, fid=None):
    """Write step-time records for two scales (and optional losses / FID) to ``path``; return the dir."""
    rng = np.random.default_rng(seed)
    m = m or meta()
    recs = [make_record(run_id=run_id, scenario="step-time", metric="step_time", unit="s", meta=m, params=PARAMS,
                        value=0, samples=rng.lognormal(np.log(0.1 * s * scale_factor), noise, n),
                        labels={"scale": s, "phase": "stable", "batch_size": 16, "devices": 1})
            for s in (4, 8)]
    if losses is not None:
        recs.append(make_record(run_id=run_id, scenario="loss-ranges", metric="loss_g", unit="1", meta=m,
                                params=PARAMS, value=0, samples=losses, labels={"scale": 8, "batch_size": 16}))
    if fid is not None:
        recs.append(make_record(run_id=run_id, scenario="fid", metric="fid", unit="1", meta=m, params=PARAMS,
                                value=fid, labels={"n_fake": 1000}))
    RecordStore(path).append(recs)
    return path


@pytest.fixture
def baseline(tmp_path):
    """A measured baseline file built from one synthetic run."""
    d = write_run(tmp_path / "base", "base", seed=1, losses=list(np.linspace(-10, 10, 50)), fid=30.0)
    out = tmp_path / "baseline.json"
    assert main(["baseline", "--from-results", str(d), "--out", str(out)]) == 0
    return out


def gate_exit(baseline, results, *extra) -> int:
    """Run ``pgan-harness gate`` and return its exit code."""
    return main(["gate", "--baseline", str(baseline), "--results", str(results), *extra])


def test_no_change_exits_0(baseline, tmp_path, capsys):
    d = write_run(tmp_path / "cur", "cur", seed=2, losses=list(np.linspace(-9, 9, 50)), fid=30.0)
    assert gate_exit(baseline, d) == 0
    assert "no change" in capsys.readouterr().out


def test_slowdown_exits_1(baseline, tmp_path, capsys):
    assert gate_exit(baseline, write_run(tmp_path / "cur", "cur", scale_factor=1.3, seed=2)) == 1
    out = capsys.readouterr().out
    assert "regressed" in out and "1.3" in out


def test_too_few_samples_exits_3(baseline, tmp_path):
    assert gate_exit(baseline, write_run(tmp_path / "cur", "cur", scale_factor=1.3, n=3, seed=2)) == 3


def test_too_noisy_exits_3(baseline, tmp_path):
    assert gate_exit(baseline, write_run(tmp_path / "cur", "cur", n=15, noise=0.6, seed=2)) == 3


def test_fingerprint_mismatch_exits_2(baseline, tmp_path, capsys):
    d = write_run(tmp_path / "cur", "cur", seed=2, m=meta(cpu__brand="Other CPU"))
    assert gate_exit(baseline, d) == 2
    assert "cpu.brand" in capsys.readouterr().err
    assert gate_exit(baseline, d, "--allow-machine-mismatch") == 0


def test_volatile_fields_are_ignored(baseline, tmp_path):
    d = write_run(tmp_path / "cur", "cur", seed=2, m=meta(hostname="box-b", cpu__hz_actual="3.3 GHz"))
    assert gate_exit(baseline, d) == 0


def test_protocol_mismatch_exits_2(baseline, tmp_path, capsys):
    base = load_baseline(baseline)
    base["protocol"]["variant"] = ["modelzoo"]
    save_baseline(base, baseline)
    assert gate_exit(baseline, write_run(tmp_path / "cur", "cur", seed=2)) == 2
    assert "variant" in capsys.readouterr().err


def test_loss_envelope_gate(baseline, tmp_path):
    d = write_run(tmp_path / "cur", "cur", seed=2, losses=[0.0, 5.0, 40.0])
    assert gate_exit(baseline, d, "--metric", "loss_g") == 1
    d2 = write_run(tmp_path / "cur2", "cur2", seed=2, losses=[0.0, float("nan")])
    assert gate_exit(baseline, d2, "--metric", "loss_g") == 1
    d3 = write_run(tmp_path / "cur3", "cur3", seed=2, losses=[-10.5, 10.5])
    assert gate_exit(baseline, d3, "--metric", "loss_g") == 0


def test_fid_gate(baseline, tmp_path):
    assert gate_exit(baseline, write_run(tmp_path / "a", "a", seed=2, fid=36.0), "--metric", "fid") == 1
    assert gate_exit(baseline, write_run(tmp_path / "b", "b", seed=2, fid=30.5), "--metric", "fid") == 0


def test_compare_by_dir_and_run_id(tmp_path, capsys):
    write_run(tmp_path / "res", "20260101T000000Z-aaaaaa", seed=1)
    write_run(tmp_path / "res", "20260101T000100Z-bbbbbb", scale_factor=1.3, seed=2)
    assert main(["compare", "20260101T000000Z-aaaaaa", "20260101T000100Z-bbbbbb",
                 "--results", str(tmp_path / "res")]) == 1
    assert "regressed" in capsys.readouterr().out
    a, b = write_run(tmp_path / "a", "a", seed=1), write_run(tmp_path / "b", "b", seed=2)
    assert main(["compare", str(a), str(b)]) == 0


def test_calibration_raises_threshold(tmp_path):
    recs = [read_records([write_run(tmp_path / f"aa{i}", f"aa{i}", noise=0.2, seed=i)]) for i in range(2)]
    calib = calibration(recs)
    assert calib["noise_overall"] > 0.1 and len(calib["entries"]) == 2
    key = calib["entries"][0]["key"]
    assert gate.threshold_function(0.05, calib)(key) > 0.1
    assert gate.threshold_function(0.05, None)(key) == 0.05


def test_calibrate_command_uses_run_scenario(tmp_path, monkeypatch):
    calls = []

    def run_scenario(name, out_dir, preset, device, devices, variant, overrides):
        calls.append((name, preset, overrides))
        return write_run(out_dir, out_dir.name, seed=len(calls))

    monkeypatch.setattr("harness.runs.runner.run_scenario", run_scenario)
    out = tmp_path / "calibration.json"
    assert main(["calibrate", "step-time", "--out-dir", str(tmp_path / "aa"), "--calibration", str(out),
                 "--set", "steps=5"]) == 0
    assert len(calls) == 2 and calls[0] == ("step-time", "cpu-smoke", {"steps": "5"})
    assert load_baseline(out)["kind"] == "calibration"


def test_calibrate_from_existing_runs_matches_the_library_and_feeds_the_gate(tmp_path, baseline):
    dirs = [write_run(tmp_path / f"aa{i}", f"aa{i}", noise=0.2, seed=10 + i) for i in range(2)]
    out = tmp_path / "noise.json"  # not calibration.json, which gate would pick up beside the baseline
    assert main(["calibrate", "--from-results", *map(str, dirs), "--calibration", str(out)]) == 0
    calib = load_baseline(out)
    assert calib["noise_overall"] == pytest.approx(calibration([read_records([d]) for d in dirs])["noise_overall"])
    # 30% slower is a regression at the default 5% threshold, but inside the calibrated A/A noise it is not.
    slow = write_run(tmp_path / "slow", "slow", scale_factor=1.3, seed=3)
    assert gate_exit(baseline, slow) == 1
    assert gate_exit(baseline, slow, "--calibration", str(out)) != 1
    assert main(["calibrate", "--from-results", str(dirs[0])]) == 2
    assert main(["calibrate"]) == 2


@pytest.mark.parametrize("factor,expected", [(1.0, 0), (1.3, 1)])
def test_inconclusive_gate_asks_for_more_samples(baseline, tmp_path, capsys, factor, expected):
    cur = write_run(tmp_path / "cur", "cur", n=3, scale_factor=factor, seed=2)  # too few samples to decide
    assert gate_exit(baseline, cur) == 3
    more = write_run(tmp_path / "more", "more", scale_factor=factor, seed=3)
    cmd = f"cat {more / 'records.jsonl'} >> {cur / 'records.jsonl'}"
    assert gate_exit(baseline, cur, "--more-cmd", cmd, "--budget", "2") == expected
    out = capsys.readouterr().out
    assert out.count("asking for more samples") == 1  # decided after one extra round
    still_few = write_run(tmp_path / "few", "few", n=3, scale_factor=factor, seed=4)
    assert gate_exit(baseline, still_few, "--more-cmd", "false") == 2  # a failing measurement is a usage error


def test_list_labels_do_not_split_entries():
    m = meta()
    recs = [make_record(run_id=f"r{i}", scenario="ingest", metric="loss_g", unit="1", meta=m, value=0,
                        samples=[1.0, 2.0], labels={"scale": 4, "steps": [100, 200], "overflow_steps": [200 * i]})
            for i in range(2)]
    (entry,) = group_entries(recs).values()
    assert entry["samples"] == [1.0, 2.0, 1.0, 2.0] and entry["run_ids"] == ["r0", "r1"]


@pytest.mark.parametrize("where", ["params.fid_bootstrap", "labels.fid_bootstrap", "params", "schema 2"])
def test_fid_ci_of_every_schema_1_place_and_of_schema_2(where):
    m = meta()
    base = make_record(run_id="a", scenario="fid", metric="fid", unit="1", meta=m, value=30.0,
                       labels={"manifest": {"n_fake": 100}}, ci=(29.0, 31.0) if where == "schema 2" else None)
    if where != "schema 2":  # a record written before the CI had one place
        part, *inner = where.split(".")
        ci = {inner[0]: {"ci": [29, 31]}} if inner else {"ci": [29, 31]}
        base = dict(base, schema=1, **{part: {**base[part], **ci}})
    (b,) = group_entries([base]).values()
    assert gate.fid_ci(b, 0.05) == (29.0, 31.0)
    worse = group_entries([dict(base, value=31.5, run_id="b")])
    assert gate.compare_entries(group_entries([base]), worse, lambda k: 0.05)[0].verdict is Verdict.REGRESSED
    other = dict(base, labels={"manifest": {"n_fake": 200}}, params={"manifest": {"n_fake": 200}})
    (row,) = gate.compare_entries(group_entries([base]), group_entries([other]), lambda k: 0.05)
    assert row.verdict is Verdict.INCOMPARABLE and gate.exit_code([row]) == 2
