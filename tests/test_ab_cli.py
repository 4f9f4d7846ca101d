"""``pgan-harness ab``: usage and cannot-compare cases exit 2 with one line; verdicts map to exit codes 0/1/3."""
import math

import numpy as np
import pytest

from harness.ab import stats as ab_stats
from harness.ab.driver import ABRun, Entry, EntryState, Settings
from harness.ab.revisions import Revision
from harness.cli import main
from harness.commands import ab as ab_cmd
from harness.judge.verdicts import Verdict

from .test_ab_revisions import repo  # noqa: F401  (fixture)

INCONCLUSIVE, NO_CHANGE, REGRESSED = Verdict.INCONCLUSIVE, Verdict.NO_CHANGE, Verdict.REGRESSED


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


def test_bad_gate_file_exits_2_naming_the_key(repo, monkeypatch, capsys, tmp_path):  # noqa: F811
    monkeypatch.chdir(repo)
    gate = tmp_path / "gate.yaml"
    gate.write_text("base: v1\nthreshold: 5%\n")
    assert main(["ab", "--gate-file", str(gate)]) == 2
    one_line_error(capsys, "unknown keys ['threshold']", "max_slowdown")


def fake_run(verdicts: list[str], inject: float = 0.0):
    """Return a finished-run stand-in whose entries have the given verdicts (from synthetic log-ratios)."""
    shifts = {REGRESSED: 0.2, NO_CHANGE: 0.0, INCONCLUSIVE: 0.0}
    states = []
    for i, v in enumerate(verdicts):
        n = 4 if v == INCONCLUSIVE else 40
        d = np.random.default_rng(i).normal(math.log1p(shifts[v]), 0.01, n)
        st = EntryState(Entry(4 * 2 ** i, "stable", inject if i % 2 else 0.0))
        st.samples[("base", "wall")] = list(np.full(n, 0.1))
        st.samples[("head", "wall")] = list(0.1 * np.exp(d))
        st.verdict = ab_stats.decide(d, 0.05)
        assert st.verdict.verdict == v
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
