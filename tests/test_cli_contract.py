"""The CLI contract of issue 16, tried as a user would: exit codes, one-line messages, nothing tracked rewritten."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import build_parser, main

from .conftest import REPO
from .test_gate import write_run


def harness(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m harness ARGS`` in a subprocess; return its result (text output)."""
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=300)


def ignored_by_git(path: str) -> bool:
    """Return whether a repository-relative path falls under a directory pattern of the repo's .gitignore."""
    patterns = [p.strip().rstrip("/") for p in (REPO / ".gitignore").read_text().splitlines()
                if p.strip().endswith("/") and not p.startswith("#")]
    parts = Path(path).parts
    return any(p.lstrip("/") in parts[:-1] for p in patterns)


def test_golden_fixtures_are_in_the_repository(fixtures_dir):
    """Item 14: the golden data and the card's table the tests read are inside the clone (no ../shared)."""
    assert fixtures_dir.resolve().is_relative_to(REPO)
    described = [line[3:].strip() for line in (fixtures_dir / "README.md").read_text().splitlines()
                 if line.startswith("## ")]
    assert set(described) >= {"pytorch_gan_zoo_s16_a05.npz", "fid_inception_golden.npz", "pgan_metrics_golden.npz",
                              "pgan_card_performance.md"}
    for name in described:
        assert (fixtures_dir / name).stat().st_size > 0, name
    assert "PGAN_SHARED_DIR" not in (REPO / "tox.ini").read_text()


def test_bench_and_report_write_outside_tracked_files():
    """Item 15: `tox -e bench` / `report` defaults write under an ignored folder; the sample is elsewhere."""
    bench = build_parser().parse_args(["bench"])
    report_dir = bench.report_dir or str(Path(bench.out) / "report")
    report = build_parser().parse_args(["report"])
    for folder in (bench.out, report_dir, report.out):
        assert ignored_by_git(f"{folder}/report.md"), folder
    assert not ignored_by_git("reports/sample/report.md")
    assert (REPO / "reports" / "sample" / "report.md").is_file()
    assert Path(bench.card).is_file()


def one_line_error(stderr: str) -> str:
    """Return the single error line of a failed command's stderr (asserting there is one and no traceback)."""
    lines = [line for line in stderr.splitlines() if line.strip() and not line.startswith("warning:")]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def in_process(capsys, *args: str) -> tuple[int, str]:
    """Run ``pgan-harness ARGS`` in this process (faster than a subprocess); return (exit code, stderr)."""
    try:
        code = main(list(args))
    except SystemExit as e:  # argparse usage errors
        code = e.code
    return code, capsys.readouterr().err


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    """A result folder of two runs' step-time records and the measured baseline built from it."""
    root = tmp_path_factory.mktemp("measured")
    write_run(root / "res", "base", seed=1)
    assert main(["baseline", "--from-results", str(root / "res"), "--out", str(root / "base.json")]) == 0
    return root


def test_broken_baseline_is_bad_input_not_a_regression(measured, tmp_path, capsys):
    """Item 1: truncated / wrong-format / missing baselines and --budget -1 exit 2 with one line, no traceback."""
    text = (measured / "base.json").read_text()
    (tmp_path / "truncated.json").write_text(text[: len(text) // 2])
    (tmp_path / "card.yaml").write_text("format: pgan-harness-baseline/1\nkind: model-card\ntables: []\n")
    (tmp_path / "empty-entries.json").write_text(text.replace('"entries": [', '"entries": [7, '))
    res = str(measured / "res")
    cases = {"truncated.json": "not valid JSON", "card.yaml": "a 'model-card' baseline",
             "missing.json": "cannot read (No such file or directory)", "empty-entries.json": "entries[0]: not a mapping"}
    r = harness("gate", "--baseline", str(tmp_path / "truncated.json"), "--results", res)  # as CI runs it
    assert r.returncode == 2 and "truncated.json: not valid JSON" in one_line_error(r.stderr)
    for name, needle in cases.items():
        code, err = in_process(capsys, "gate", "--baseline", str(tmp_path / name), "--results", res)
        line = one_line_error(err)
        assert code == 2 and needle in line and name in line and "baseline --from-results" in line, line
    code, err = in_process(capsys, "gate", "--baseline", str(measured / "base.json"), "--results", res, "--budget", "-1")
    assert code == 2 and one_line_error(err) == ("pgan-harness gate: error: argument --budget: expected an integer "
                                                 ">= 0, got '-1' (see pgan-harness gate --help)")


def test_corrupt_records_are_skipped_and_reported(measured, tmp_path, capsys):
    """Item 1: a non-UTF-8 byte and records of unexpected shape are skipped with one warning; gate still judges."""
    res = tmp_path / "res"
    res.mkdir()
    good = (measured / "res" / "records.jsonl").read_bytes()
    wrong = json.loads(good.splitlines()[0])
    wrong["samples"] = ["fast"]
    (res / "records.jsonl").write_bytes(good + b'{"schema": 1, "run_id": "\xff"}\n' + json.dumps(wrong).encode() + b"\n")
    r = harness("gate", "--baseline", str(measured / "base.json"), "--results", str(res))
    assert r.returncode == 0, r.stderr
    assert f"warning: {res / 'records.jsonl'}: skipped 2 unusable line(s) (first: line 3: not UTF-8" in r.stderr
    (res / "records.jsonl").write_bytes(json.dumps({**wrong, "samples": None, "labels": [1]}).encode() + b"\n")
    for cmd in (["gate", "--baseline", str(measured / "base.json"), "--results"], ["report", "--results"],
                ["baseline", "--from-results"], ["compare", str(res), str(measured / "res")]):
        code, err = in_process(capsys, *cmd, *([] if cmd[0] == "compare" else [str(res)]))
        assert code == 2 and "skipped 1 unusable line(s) (first: line 1: 'labels' is list, expected dict)" in err


def test_unexpected_errors_and_interrupts_have_their_codes(monkeypatch, capsys, tmp_path):
    """Contract: an unexpected exception exits 1 with one line and a --debug hint; Ctrl-C exits 130."""
    import harness.commands.report as report_cmd

    def boom(paths):
        raise RuntimeError("boom")

    monkeypatch.setattr(report_cmd, "read_records", boom)
    assert main(["report", "--results", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err == "error: unexpected RuntimeError: boom (rerun with --debug for the traceback)\n"
    assert main(["report", "--debug", "--results", str(tmp_path)]) == 1
    assert "Traceback" in capsys.readouterr().err

    def interrupt(paths):
        raise KeyboardInterrupt

    monkeypatch.setattr(report_cmd, "read_records", interrupt)
    assert main(["report", "--results", str(tmp_path)]) == 130
    assert "interrupted" in capsys.readouterr().err


def test_append_after_a_torn_line_keeps_the_new_record(tmp_path):
    """Item 3: a run killed mid-write leaves a torn last line; the next append must not glue onto it."""
    log = tmp_path / "test_perform_static.txt"
    log.write_text("NN inference cost average time: 1534.29 ms of infer_count 1\n")
    out = tmp_path / "res"
    out.mkdir()
    (out / "records.jsonl").write_text('{"schema": 1, "run_id": "killed", "scen')  # torn: no newline
    r = harness("ingest-log", str(log), "--out", str(out))
    assert r.returncode == 0 and "1 records appended" in r.stdout
    r = harness("report", "--results", str(out), "--out", str(tmp_path / "report"))
    assert r.returncode == 0, r.stderr
    assert f"warning: {out / 'records.jsonl'}: skipped 1 unusable line(s) (first: line 1: not JSON" in r.stderr
    assert [json.loads(line)["scenario"] for line in (out / "records.jsonl").read_text().splitlines()[1:]] == ["ingest"]


def test_records_of_an_unknown_schema_are_skipped_with_a_reason(measured, tmp_path, capsys):
    """Item 12: readers check ``schema``: a newer one is skipped and named, the known one is read."""
    res = tmp_path / "res"
    res.mkdir()
    lines = (measured / "res" / "records.jsonl").read_text().splitlines()
    newer = json.dumps({**json.loads(lines[0]), "schema": 3})
    (res / "records.jsonl").write_text("\n".join([newer, *lines[1:]]) + "\n")
    code, err = in_process(capsys, "baseline", "--from-results", str(res), "--out", str(tmp_path / "b.json"))
    assert code == 0
    assert ("skipped 1 unusable line(s) (first: line 1: schema 3 is newer than this pgan-harness (upgrade it); "
            "readable: 1, 2)") in err
    assert len(json.loads((tmp_path / "b.json").read_text())["entries"]) == len(lines) - 1


@pytest.mark.slow
def test_resumed_training_logs_every_step_once(tmp_path):
    """Item 12: a run stopped between checkpoints and resumed leaves one steps.jsonl row per (scale, i)."""
    from pgan_ref.synthetic import write_synthetic

    from .test_train_e2e import read_steps, run_cli

    write_synthetic(tmp_path / "data", n=16)
    tiny = ["--train_data_path", tmp_path / "data", "--ckpt_save_dir", tmp_path / "ck", "--preset", "cpu-smoke",
            "--set", "scales=[4,8]", "--set", "depth=[16,16]", "--set", "num_batch=[4,6]", "--set",
            "alpha_jumps=[0,2]", "--set", "alpha_size_jumps=[1,1]", "--set", "model_save_step=4", "--no_progress"]
    # checkpoints after 3 iterations of each scale and at its end: stopping after 4 + 5 leaves (8, 3), (8, 4)
    # logged but not checkpointed, so the resumed run runs them again
    first = run_cli(*tiny, "--stop_after", 9)
    assert first.returncode == 0, first.stderr[-2000:]
    assert [(r["scale"], r["i"]) for r in read_steps(tmp_path / "ck")][-2:] == [(8, 3), (8, 4)]
    second = run_cli(*tiny)
    assert second.returncode == 0, second.stderr[-2000:]
    assert [(r["scale"], r["i"]) for r in read_steps(tmp_path / "ck")] == [(4, i) for i in range(4)] + [
        (8, i) for i in range(6)]


def test_scenario_options_are_range_checked_before_anything_runs(tmp_path, capsys):
    """Item 5: iters=0, warmup=-1, iters=abc... exit 2 naming the option, its value and the accepted range."""
    out = tmp_path / "res"
    r = harness("run", "step-time", "--set", "iters=0", "--out", str(out))
    assert r.returncode == 2 and one_line_error(r.stderr) == "error: --set iters='0': expected an integer >= 1"
    cases = {("step-time", "warmup=-1"): "--set warmup='-1': expected an integer >= 0",
             ("step-time", "iters=abc"): "--set iters='abc': expected an integer >= 1",
             ("step-time", "min_time_s=nan"): "--set min_time_s='nan': expected a number >= 0",
             ("fid", "preprocess=bicubic"): "--set preprocess='bicubic': expected one of pytorch-fid, clean, tf1",
             ("mindir-latency", "batch_sizes=1,0"): "--set batch_sizes='1,0': expected comma-separated integers >= 1",
             ("mindir-latency", "strict=maybe"): "--set strict='maybe': expected true or false"}
    for (name, setting), message in cases.items():
        code, err = in_process(capsys, "run", name, "--set", setting, "--out", str(out))
        assert code == 2 and one_line_error(err) == f"error: {message}", (setting, err)
    assert not out.exists()  # nothing ran, nothing was written
