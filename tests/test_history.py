"""The performance history: store, resumable runs, change points, creep, acceptance, noisy bisection, page, CLI."""
from __future__ import annotations

import itertools
import json
import math
import re
import subprocess

import numpy as np
import pytest
from scipy import stats

from harness.ab.driver import Entry, Settings
from harness.history import detect as det
from harness.history.bisect import bisect
from harness.history.measure import Commit, Probe, run_history
from harness.history.store import HistoryStore, ratio_record, series

META = {"machine_fingerprint": "fp-test"}
ENTRY = Entry(4, "stable")


def commits(n: int) -> list[Commit]:
    return [Commit(f"{i:040x}", f"commit {i}") for i in range(n)]


class FakeMeasurer:
    """Measures commit i as ``level(i)`` plus seeded block noise; counts its calls and the blocks asked for."""

    def __init__(self, level, sigma=0.01, skip=(), inconclusive=()):
        self.level, self.sigma, self.skip, self.inconclusive = level, sigma, set(skip), set(inconclusive)
        self.calls: list[tuple[int, int]] = []
        self.rng = np.random.default_rng(0)

    def __call__(self, commit, anchor, entries, settings, store, source):
        i = int(commit.sha, 16)
        self.calls.append((i, settings.min_blocks))
        if i in self.skip:
            return Probe(commit, [], "cannot build")
        noise = self.sigma * (4 if i in self.inconclusive else 1)
        rows = [ratio_record(meta=META, anchor=anchor, commit=commit.sha, subject=commit.subject, entry=e.name,
                             clock=clock, blocks=math.log(self.level(i)) + self.rng.normal(0, noise, settings.min_blocks),
                             base_median_s=0.1, head_median_s=0.1 * self.level(i), source=source, ab_run_id="r")
                for e in entries for clock in ("cpu", "wall")]
        store.append(rows)
        return Probe(commit, rows)


def test_store_is_append_only_and_reads_points_skips_and_acceptances(tmp_path):
    store = HistoryStore(tmp_path)
    m = FakeMeasurer(lambda i: 1.0 + 0.1 * i)
    line = commits(3)
    for c in reversed(line):  # measured out of order: the series follows the first-parent order given
        m(c, line[0].sha, [ENTRY], Settings(min_blocks=4), store, "test")
    before = (tmp_path / "records.jsonl").read_bytes()
    m(line[1], line[0].sha, [ENTRY], Settings(min_blocks=4), store, "again")
    assert (tmp_path / "records.jsonl").read_bytes().startswith(before)  # nothing rewritten
    pts = store.points()
    assert len(pts) == 8 and set(pts.clock) == {"cpu", "wall"}
    ser = series(pts, [c.sha for c in line], "4:stable", "cpu", line[0].sha)
    assert list(ser.commit) == [c.sha for c in line] and list(ser.runs) == [1, 2, 1]
    assert ser.ratio.tolist() == pytest.approx([1.0, 1.1, 1.2], rel=0.03)


def test_run_history_resumes_skips_and_records_the_reason(tmp_path):
    store, line = HistoryStore(tmp_path), commits(6)
    m = FakeMeasurer(lambda i: 1.0, skip={2})
    done = run_history(store, line[:4], line[0].sha, [ENTRY], Settings(min_blocks=4), float("inf"), measurer=m,
                       fingerprint="fp-test")
    assert [p.commit for p in done] == line[:4] and done[2].skipped == "cannot build"
    m.calls.clear()
    run_history(store, line, line[0].sha, [ENTRY], Settings(min_blocks=4), float("inf"), measurer=m,
                fingerprint="fp-test")
    assert [i for i, _ in m.calls] == [4, 5]  # stored and skipped commits are not measured again
    assert run_history(store, line, line[0].sha, [ENTRY], Settings(), 0.0, measurer=m, fingerprint="fp-test") == []
    m.calls.clear()
    run_history(store, line, line[0].sha, [ENTRY], Settings(min_blocks=4), float("inf"), measurer=m,
                fingerprint="fp-test", retry_skipped=True)
    assert [i for i, _ in m.calls] == [2]  # a skipped commit is measured again when asked


def test_each_commit_is_measured_when_this_environment_meets_its_own_pins(tmp_path):
    """Pins that differ from the anchor's no longer skip a commit; pins this environment does not meet do, named."""
    from importlib.metadata import version

    from harness.history.measure import first_parent, measure_ab

    r = tmp_path / "repo"
    r.mkdir()
    git = ["git", "-C", str(r), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    for i, deps in enumerate(['"numpy>=1.26,<2"', '"numpy>=1.26,<2", "scipy>=1.11"', '"pandas>=3"']):
        (r / "pyproject.toml").write_text(f'[project]\nname = "x"\ndependencies = [{deps}]\n')
        subprocess.run([*git, "add", "."], check=True)
        subprocess.run([*git, "commit", "-qm", f"c{i}"], check=True)
    line = first_parent(r, "HEAD")
    store = HistoryStore(tmp_path / "h")
    done = run_history(store, line[1:], line[0].sha, [ENTRY], Settings(min_blocks=4), float("inf"),
                       measurer=lambda *a: measure_ab(*a, repo=r), fingerprint="fp-test")
    other_pins, unmet = (p.skipped for p in done)
    assert "pins" not in other_pins and "lacks the step-time API" in other_pins  # got past the pins; no code here
    assert f"head revision {line[2].sha} ({line[2].sha[:10]}) pins what this environment does not have: " \
           f"pandas>=3 (installed {version('pandas')})" == unmet
    assert store.skips().reason.tolist() == [other_pins, unmet]


def exact_permutation_p(a, b) -> float:
    """Two-sided p of the mean difference a - b over every relabelling: twice the smaller one-sided p (scipy's
    convention), enumerated here as independent truth for tiny samples."""
    pooled, n = np.concatenate([a, b]), len(a)
    obs = np.mean(a) - np.mean(b)
    diffs = np.array([np.mean(pooled[list(idx)]) - np.mean(np.delete(pooled, list(idx)))
                      for idx in itertools.combinations(range(len(pooled)), n)])
    return float(min(1.0, 2 * min(np.mean(diffs >= obs - 1e-12), np.mean(diffs <= obs + 1e-12))))


def test_a_step_is_found_at_its_commit_with_an_exact_permutation_p():
    x = np.array([0.00, 0.01, -0.01, 0.005, -0.005, 0.0, 0.10, 0.11, 0.09, 0.095])
    found = det.detect(x, det.DetectSettings(alpha=0.05))
    (cp,) = found.change_points
    assert cp.index == 6 and cp.n_before == 6 and cp.n_after == 4
    assert cp.pvalue == pytest.approx(exact_permutation_p(x[6:], x[:6]))
    assert cp.step == pytest.approx(math.exp(x[6:].mean() - x[:6].mean()))
    assert cp.ci_low <= cp.step <= cp.ci_high and cp.regression(det.DetectSettings(alpha=0.05))


def test_a_single_slow_commit_is_not_a_change_point():
    x = np.random.default_rng(0).normal(0, 0.01, 30)
    x[15] += 0.3
    found = det.detect(x)
    assert found.change_points == [] and not found.alarms(det.DetectSettings())


def test_creep_is_measured_against_the_fastest_segment_and_respects_the_accepted_point():
    x = np.concatenate([np.zeros(10), np.log1p(0.01) * np.arange(1, 21)]) + \
        np.random.default_rng(1).normal(0, 0.003, 30)
    s = det.DetectSettings()
    found = det.detect(x, s)
    assert found.creep.best_start == 0 and found.creep.alarm(s) and found.alarms(s)
    assert found.creep.change == pytest.approx(math.exp(x[-3:].mean() - x[:found.creep.best_end].mean()))
    assert not det.detect(x, s, since=25).alarms(s)  # accepted at commit 24: too few commits after it


@pytest.mark.parametrize("culprit", [1, 7, 9, 15])
def test_bisect_names_the_culprit_in_log2_probes(tmp_path, culprit):
    m = FakeMeasurer(lambda i: 1.10 if i >= culprit else 1.0)
    r = bisect(commits(16), ENTRY, Settings(min_blocks=10, max_blocks=10), HistoryStore(tmp_path), measurer=m)
    assert r.outcome == "culprit" and int(r.culprit.sha, 16) == culprit
    assert r.runs <= 5 and all(e.verdict in ("regressed", "no change") for e in r.probes)
    assert len(HistoryStore(tmp_path).points()) == 2 * r.runs  # every probe joined the history


def test_bisect_remeasures_inconclusive_probes_and_stops_rather_than_guess(tmp_path):
    m = FakeMeasurer(lambda i: 1.0, sigma=0.3)  # blocks spread 30%: no CI of 10-53 blocks fits in +-5%
    r = bisect(commits(9), ENTRY, Settings(min_blocks=10, max_blocks=10), HistoryStore(tmp_path), max_tries=3,
               measurer=m)
    assert r.outcome == "inconclusive" and r.culprit is None
    # each retry brings the pooled blocks to the first planned look (10, 15, 23, 35, 53, ...) of twice as many
    assert [b for _, b in m.calls] == [10, 13, 30] and [e.blocks for e in r.probes] == [10, 23, 53]


class ScriptedMeasurer:
    """Returns the given block log-ratios, one list per call, for both clocks."""

    def __init__(self, *runs):
        self.runs, self.calls = list(runs), []

    def __call__(self, commit, anchor, entries, settings, store, source):
        blocks = self.runs[len(self.calls)]
        self.calls.append(settings.min_blocks)
        assert len(blocks) == settings.min_blocks
        rows = [ratio_record(meta=META, anchor=anchor, commit=commit.sha, subject="", entry=e.name, clock=clock,
                             blocks=blocks, base_median_s=0.1, head_median_s=0.1, source=source, ab_run_id="r")
                for e in entries for clock in ("cpu", "wall")]
        store.append(rows)
        return Probe(commit, rows)


def test_bisect_pools_a_probes_blocks_across_its_runs(tmp_path):
    """An inconclusive probe's second run adds to its first: the verdict's mean, interval and block count are those
    of all 23 blocks (closed form: the t interval of their mean at the third look's level)."""
    first = [math.log(1.10) + (0.15 if k % 2 else -0.15) for k in range(10)]  # +10%, too spread to decide
    second = [math.log(1.08) + (0.001 if k % 2 else -0.001) for k in range(13)]  # +8%, tight
    m = ScriptedMeasurer(first, second)
    r = bisect(commits(2), ENTRY, Settings(min_blocks=10, max_blocks=10), HistoryStore(tmp_path), measurer=m)
    assert m.calls == [10, 13] and [e.verdict for e in r.probes] == ["inconclusive", "regressed"]
    pooled = np.array(first + second)
    looks = [10, 15, 23, 35, 53, 80, 100]
    level = 0.01 / (3 * np.sum(1 / np.arange(1, len(looks) + 1)))  # alpha's share of the third look (23 blocks)
    half = stats.t.ppf(1 - level, 22) * pooled.std(ddof=1) / math.sqrt(23)
    last = r.probes[-1]
    assert last.blocks == 23 and last.ratio == pytest.approx(math.exp(pooled.mean()))
    assert (last.ci_low, last.ci_high) == pytest.approx((math.exp(pooled.mean() - half),
                                                         math.exp(pooled.mean() + half)))
    assert not 1.075 < last.ratio < 1.085  # not the second run's blocks alone


def test_bisect_skips_unbuildable_commits(tmp_path):
    m = FakeMeasurer(lambda i: 1.10 if i >= 6 else 1.0, skip={4})
    r = bisect(commits(9), ENTRY, Settings(min_blocks=10, max_blocks=10), HistoryStore(tmp_path), measurer=m)
    assert r.outcome == "culprit" and int(r.culprit.sha, 16) == 6
    assert any(e.verdict == "skipped" and e.index == 4 for e in r.probes)
    m = FakeMeasurer(lambda i: 1.10 if i >= 4 else 1.0, skip={4})
    r = bisect(commits(9), ENTRY, Settings(min_blocks=10, max_blocks=10), HistoryStore(tmp_path), measurer=m)
    assert r.outcome == "all skipped" and r.path[-1] == (3, 5)  # the culprit is 4 or 5: said, not guessed


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A git repository of 12 commits, the working directory of the CLI tests; returns their ids, oldest first."""
    r = tmp_path / "repo"
    r.mkdir()
    git = ["git", "-C", str(r), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    for i in range(12):
        (r / "f").write_text(str(i))
        subprocess.run([*git, "add", "f"], check=True)
        subprocess.run([*git, "commit", "-qm", f"c{i}"], check=True)
    monkeypatch.chdir(r)
    out = subprocess.run([*git, "log", "--reverse", "--format=%H"], capture_output=True, text=True, check=True)
    return out.stdout.split()


def store_levels(path, shas, level):
    store, rng = HistoryStore(path), np.random.default_rng(3)
    store.append([ratio_record(meta=META, anchor=shas[0], commit=c, subject=f"c{i}", entry="4:stable", clock=clock,
                               blocks=math.log(level(i)) + rng.normal(0, 0.005, 10), base_median_s=0.1,
                               head_median_s=0.1, source="test", ab_run_id="r")
                  for i, c in enumerate(shas) for clock in ("cpu", "wall")])


def test_detect_exits_1_on_a_regression_until_it_is_accepted_and_the_page_shows_it(repo, tmp_path, capsys):
    from harness.cli import main

    store_levels(tmp_path / "h", repo, lambda i: 1.10 if i >= 6 else 1.0)
    args = ["history", "detect", "HEAD", "--history", str(tmp_path / "h")]
    assert main(args) == 1
    out = capsys.readouterr().out
    assert f"change at {repo[6][:10]} 'c6'" in out and "REGRESSION" in out and "ALARM" in out
    assert main(["history", "accept", repo[6], "--why", "intended: bigger model", "--history",
                 str(tmp_path / "h")]) == 0
    assert main(args) == 0 and "(accepted)" in capsys.readouterr().out
    acc = HistoryStore(tmp_path / "h").accepted()
    assert acc.commit.tolist() == [repo[6]] and acc.why.tolist() == ["intended: bigger model"]
    page = tmp_path / "h.html"
    assert main(["history", "page", "--history", str(tmp_path / "h"), "--out", str(page)]) == 0
    text = page.read_text()
    assert "<svg" in text and repo[6][:10] in text
    assert "<script" not in text and "<link" not in text and not re.search(r"(src|href)=[\"']https?:", text)
    assert "| 4:stable |" in capsys.readouterr().out


@pytest.mark.parametrize("args, named", [
    (["history", "detect", "nosuch..HEAD"], "nosuch"),
    (["history", "run", "HEAD", "--entries", "4:middle"], "4:middle"),
    (["history", "detect", "HEAD", "--history", "empty-dir"], "history run"),
    (["bisect", "--good", "nosuch", "--bad", "HEAD"], "nosuch"),
])
def test_bad_input_is_one_line_and_exit_2(repo, usage_error, args, named):
    from harness.cli import main

    usage_error(main(args), named)


def test_self_test_on_real_aa_noise_meets_the_goals():
    """Series from the committed real A/A block log-ratios (tests/fixtures/history_aa_noise.json, cpu-smoke 4:stable,
    duet, quiet): no false alarm, 5% and 10% steps found within 3 commits, the 1%/commit creep found."""
    from pathlib import Path

    from harness.history.selftest import evaluate

    data = json.loads((Path(__file__).parent / "fixtures" / "history_aa_noise.json").read_text())
    runs = [np.asarray(r) for r in data["runs"]]
    table = evaluate(runs, det.DetectSettings(), series=2, n=40, at=28, horizon=10, seed=0).set_index("case")
    assert float(table.loc["A/A", "false alarms / 100 commits"]) == 0
    for case in ("step 5%", "step 10%", "creep 1%/commit"):
        assert float(table.loc[case, "recall"]) == 1.0
    for case in ("step 5%", "step 10%"):
        assert int(table.loc[case, "delay median / max"].split(" / ")[1]) <= 3


def test_the_report_carries_the_trend_table_of_a_history_store(repo, tmp_path):
    """The trend row of a +10% step at c6: first and last segments with their mean ratios (closed form: exp of the
    mean of the commits' median block log-ratios), the cumulative change, the change point with CI and p."""
    from harness.cli import main
    from harness.records.store import RecordStore

    store_levels(tmp_path / "h", repo, lambda i: 1.10 if i >= 6 else 1.0)
    cpu = [r for r in RecordStore(tmp_path / "h").read() if r["labels"]["clock"] == "cpu"]
    per_commit = np.array([np.median(r["samples"]) for r in cpu])
    before, after = per_commit[:6].mean(), per_commit[6:].mean()
    out = tmp_path / "report"
    assert main(["report", "--results", str(tmp_path / "h"), "--history", str(tmp_path / "h"), "--out", str(out)]) == 0
    md = (out / "report.md").read_text()
    assert "## Performance history" in md
    (row,) = [line for line in md.splitlines() if "| 4:stable |" in line]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[:7] == [repo[0][:7], "4:stable", "12", f"{math.exp(before):.3f} ({repo[0][:7]}..{repo[5][:7]}, 6)",
                         f"{math.exp(after):.3f} ({repo[6][:7]}..{repo[11][:7]}, 6)",
                         f"{math.exp(before):.3f} ({repo[0][:7]}..{repo[5][:7]}, 6)",
                         f"{math.expm1(after - before):+.1%}"]
    assert re.fullmatch(rf"{repo[6][:7]} x{math.exp(after - before):.3f} \[\d\.\d{{3}}, \d\.\d{{3}}\] p=\S+ regression",
                        cells[7])
    assert cells[8] == "regression"
    assert (out / "history_trend.csv").exists()
    assert main(["report", "--results", str(tmp_path / "h"), "--out", str(tmp_path / "r2")]) == 0  # no store here
    assert "no performance history" in (tmp_path / "r2" / "report.md").read_text()
