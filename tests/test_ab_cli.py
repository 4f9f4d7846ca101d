"""``pgan-harness ab``: bad input and cannot-compare cases exit 2 with one line and start nothing; verdicts map to exit
codes 0/1/3; ``--strict`` fails an undecided slowdown."""
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from harness.ab import stats as ab_stats
from harness.ab.driver import ABRun, Entry, EntryState, Settings
from harness.ab.revisions import Revision
from harness.cli import build_parser, main
from harness.commands import ab as ab_cmd
from harness.errors import BadInput
from harness.judge.verdicts import Verdict

from .test_ab_revisions import repo  # noqa: F401  (fixture)

INCONCLUSIVE, NO_CHANGE, REGRESSED = Verdict.INCONCLUSIVE, Verdict.NO_CHANGE, Verdict.REGRESSED
SUSPECT = "inconclusive, +20 %"  # fake_run: an undecided entry beyond the threshold


def one_line_error(capsys, *needles):
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for n in needles:
        assert n in err, err


@pytest.mark.parametrize("argv, needles", [
    (["--base", "nope"], ["unknown revision 'nope'"]),
    (["--base", "deps"], ["differ", "pandas>=3", "two environments"]),
    (["--base", "old"], ["predates the A/B worker protocol"]),
    ([], ["give --base"]),
    (["--base", "v1", "--entries", "16-stable"], ["SCALE:PHASE"]),
    (["--base", "v1", "--head-python", "/no/such/python"], ["--head-python /no/such/python", "not an executable"]),
])
def test_cannot_compare_or_usage_exits_2_with_one_line(repo, monkeypatch, capsys, argv, needles):  # noqa: F811
    monkeypatch.chdir(repo)
    assert main(["ab", *argv]) == 2
    one_line_error(capsys, *needles)


def _exit_code(argv) -> int:
    try:
        return main(argv)
    except SystemExit as e:  # an argparse usage error
        return e.code


@pytest.fixture()
def nothing_starts(repo, monkeypatch):  # noqa: F811
    """Run ``ab`` in the test repo; fail the test if any measurement would start."""
    monkeypatch.chdir(repo)

    def started(*args, **kwargs):
        raise AssertionError("a measurement started")

    monkeypatch.setattr(ab_cmd, "run_ab", started)
    monkeypatch.setattr(ab_cmd.revs, "checkout", started)
    return repo


# issue 26: every option range-checked (0, negatives, NaN, wrong types), before anything starts
@pytest.mark.parametrize("argv, needles", [
    (["--budget-s", "0"], ["--budget-s", "seconds > 0", "'0'"]),
    (["--budget-s", "-5"], ["--budget-s", "'-5'"]),
    (["--budget-s", "nan"], ["--budget-s", "'nan'"]),
    (["--min-blocks", "0"], ["--min-blocks", "from 2 to 100"]),
    (["--burst", "0"], ["--burst", "from 1 to 1000"]),
    (["--alpha", "5"], ["--alpha", "< 0.5"]),
    (["--alpha", "0"], ["--alpha", "> 0"]),
    (["--max-slowdown", "0"], ["--max-slowdown", "> 0"]),
    (["--max-slowdown", "lots"], ["--max-slowdown", "'lots'"]),
    (["--seed", "-1"], ["--seed", ">= 0"]),
    (["--inject", "0"], ["--inject", "> 0"]),
    (["--preset", "nope"], ["--preset 'nope'", "cpu-smoke"]),
    (["--entries", "64:stable"], ["--entries", "'64:stable'", "4:stable 8:fade"]),
    (["--calibrate", "--inject", "10%"], ["exclude each other"]),
])
def test_bad_option_is_one_line_exit_2_nothing_started(nothing_starts, capsys, argv, needles):
    assert _exit_code(["ab", "--base", "v1", *argv]) == 2  # argparse's usage errors too: one line, exit 2
    one_line_error(capsys, "error:", *needles)


@pytest.mark.parametrize("text, needles", [
    ("base: v1\nthreshold: 5%\n", ["unknown keys ['threshold']", "max_slowdown"]),
    ("base: v1\nmin_blocks: -3\nburst: 0\n", ["min_blocks: -3", "from 2 to 100"]),
    ("base: v1\nburst: 0\n", ["burst: 0", "from 1 to 1000"]),
    ("base: v1\nburst: true\n", ["burst: True", "an integer"]),
    ("base: v1\nburst: 2.5\n", ["burst: 2.5"]),
    ("base: v1\nmax_slowdown: lots\n", ["max_slowdown: 'lots'", "e.g. 5%"]),
    ("base: v1\nbudget_s: .nan\n", ["budget_s: nan", "seconds > 0"]),
    ("base: v1\nbudget_s: -5\n", ["budget_s: -5"]),
    ("base: v1\nalpha: 5\n", ["alpha: 5"]),
    ("base: v1\nentries: \"4:stable\"\n", ["entries: '4:stable'", "a non-empty list"]),
    ("base: v1\nentries: [4:stable, 64:stable]\n", ["entries: entry '64:stable'"]),
    ("base: v1\npreset: nope\n", ["preset 'nope'", "unknown preset"]),
    ("base: [v1]\n", ["base: ['v1']", "commit, branch or tag"]),
    ("entries: [4:stable]\n", ["at least 'base'"]),
    ("base: v1\nentries: [4:stable\n  foo: [\n", ["not valid YAML", "line 3"]),
])
def test_bad_gate_file_is_one_line_naming_the_file_and_key(nothing_starts, capsys, tmp_path, text, needles):
    gate = tmp_path / "gate.yaml"
    gate.write_text(text)
    assert _exit_code(["ab", "--gate-file", str(gate)]) == 2
    one_line_error(capsys, f"error: gate file {gate}: ", *needles)


def test_binary_or_missing_gate_file_is_named(nothing_starts, capsys, tmp_path):
    gate = tmp_path / "gate.bin"
    gate.write_bytes(bytes(range(256)))
    assert main(["ab", "--gate-file", str(gate)]) == 2
    one_line_error(capsys, f"error: gate file {gate}: not a text file")
    assert main(["ab", "--gate-file", str(tmp_path / "nope.yaml")]) == 2
    one_line_error(capsys, "nope.yaml: cannot read it")


def test_options_win_over_the_gate_file_and_are_all_checked(tmp_path):
    gate = tmp_path / "gate.yaml"
    gate.write_text("base: v1\nbudget_s: 100\nburst: 2\nmax_slowdown: 10%\nentries: [4:stable]\n")
    args = build_parser().parse_args(["ab", "--gate-file", str(gate), "--budget-s", "50"])
    settings, entries, base = ab_cmd.gather(args)
    assert (settings.budget_s, settings.burst, settings.threshold, settings.min_blocks) == (50.0, 2, 0.10, 3)
    assert entries == [Entry(4, "stable")] and base == "v1"


def test_settings_refuse_bad_values_for_api_callers():
    with pytest.raises(BadInput, match="budget_s=nan"):
        Settings(budget_s=float("nan"))
    with pytest.raises(BadInput, match="min_blocks=5 above max_blocks=4"):
        Settings(min_blocks=5, max_blocks=4)


# issue 24: --out and --base-python mistakes are user errors, not "unexpected"
def test_out_that_is_a_file_or_cannot_be_made(nothing_starts, capsys, tmp_path):
    existing = tmp_path / "records.txt"
    existing.write_text("keep me\n")
    assert main(["ab", "--base", "v1", "--out", str(existing)]) == 2
    one_line_error(capsys, f"error: --out {existing}: exists and is not a folder")
    assert existing.read_text() == "keep me\n"
    assert main(["ab", "--base", "v1", "--out", str(existing / "sub")]) == 2
    one_line_error(capsys, f"error: --out {existing / 'sub'}: cannot make the folder")


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
def test_out_under_proc(nothing_starts, capsys):
    assert main(["ab", "--base", "v1", "--out", "/proc/nope"]) == 2
    one_line_error(capsys, "error: --out /proc/nope: cannot make the folder")


def test_base_python_that_is_not_a_program_or_lacks_mindspore(nothing_starts, capsys, tmp_path):
    text = tmp_path / "notes.txt"  # executable, but text: the kernel refuses it (Exec format error)
    text.write_text("just some notes\n")
    text.chmod(0o755)
    assert main(["ab", "--base", "v1", "--base-python", str(text)]) == 2
    one_line_error(capsys, f"error: cannot compare: --base-python {text}: cannot be run as a program")
    bare = tmp_path / "python"  # this Python without its site-packages: no MindSpore, numpy, scipy, yaml
    bare.write_text(f"#!/bin/sh\nexec {sys.executable} -S \"$@\"\n")
    bare.chmod(0o755)
    assert main(["ab", "--base", "v1", "--base-python", str(bare)]) == 2
    one_line_error(capsys, f"--base-python {bare}: Python", "cannot import mindspore", "dependencies")


def fake_run(verdicts: list[str], inject: float = 0.0):
    """Return a finished-run stand-in whose entries have the given verdicts (from synthetic log-ratios)."""
    shifts = {REGRESSED: 0.2, NO_CHANGE: 0.0, INCONCLUSIVE: 0.0, SUSPECT: 0.2}
    sizes = {INCONCLUSIVE: 4, SUSPECT: 2}  # 2 blocks: before the first look, +20 %
    states = []
    for i, v in enumerate(verdicts):
        n = sizes.get(v, 40)
        d = np.random.default_rng(i).normal(math.log1p(shifts[v]), 0.05 if v == INCONCLUSIVE else 0.01, n)
        st = EntryState(Entry(4 * 2 ** i, "stable", inject if i % 2 else 0.0))
        st.samples[("base", "wall")] = list(np.full(n, 0.1))
        st.samples[("head", "wall")] = list(0.1 * np.exp(d))
        st.verdict = ab_stats.decide(d, 0.05)
        assert st.verdict.verdict == (INCONCLUSIVE if v == SUSPECT else v)
        states.append(st)
    run = object.__new__(ABRun)  # a finished run without workers: what ``ab`` prints comes from its records
    commit = "0123456789" * 4
    run.states, run.s, run.run_id, run.meta, run.threads, run.versions = states, Settings(), "r", {}, 1, {}
    run.revs = {role: Revision(role, role, commit, False, None) for role in ("base", "head")}
    run.summary = run.summary_records()
    return run


@pytest.mark.parametrize("verdicts, code", [([NO_CHANGE, NO_CHANGE], 0), ([NO_CHANGE, REGRESSED], 1),
                                            ([INCONCLUSIVE, NO_CHANGE], 3), ([INCONCLUSIVE, REGRESSED], 1)])
def test_exit_code_is_the_worst_entrys(repo, monkeypatch, capsys, verdicts, code):  # noqa: F811
    monkeypatch.chdir(repo)
    monkeypatch.setattr(ab_cmd, "run_ab", lambda *a, **k: fake_run(verdicts))
    assert main(["ab", "--base", "v1", "--entries", "4:stable"]) == code
    out = capsys.readouterr().out
    assert "MDE95" in out and f"overall: {ab_stats.overall(verdicts)}" in out
    rows = [line for line in out.splitlines() if line.startswith("| 4 ") or line.startswith("| 8 ")]
    assert [row.rstrip(" |").split("| ")[-1].strip() for row in rows] == verdicts  # one table row per entry


@pytest.mark.parametrize("verdicts, code", [([NO_CHANGE, REGRESSED], 0), ([REGRESSED, REGRESSED], 1),
                                            ([NO_CHANGE, INCONCLUSIVE], 3)])
def test_calibrate_exit_code(verdicts, code):
    assert ab_cmd.calibration_code(fake_run(verdicts, inject=0.1)) == code


@pytest.mark.parametrize("verdicts, strict, code", [([SUSPECT, NO_CHANGE], True, 1), ([SUSPECT, NO_CHANGE], False, 3),
                                                    ([INCONCLUSIVE, NO_CHANGE], True, 3)])
def test_strict_fails_an_undecided_slowdown_with_one_line(repo, monkeypatch, capsys, verdicts, strict,
                                                          code):  # noqa: F811
    monkeypatch.chdir(repo)
    monkeypatch.setattr(ab_cmd, "run_ab", lambda *a, **k: fake_run(verdicts))
    assert main(["ab", "--base", "v1", "--entries", "4:stable", *(["--strict"] if strict else [])]) == code
    fails = [line for line in capsys.readouterr().out.splitlines() if line.startswith("FAIL")]
    if code == 1:
        (line,) = fails
        assert "4:stable +" in line and "after 2 blocks" in line and "--budget-s" in line and "move the base" in line
    else:
        assert not fails
