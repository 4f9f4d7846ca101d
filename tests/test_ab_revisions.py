"""A/B revision handling on a temporary git repo: dirty tree, unknown revisions, dependency changes, worktrees."""
import subprocess
import sys
from pathlib import Path

import pytest

from harness.ab import revisions as revs

PYPROJECT = '[project]\nname = "x"\nrequires-python = ">=3.11"\ndependencies = ["numpy>=1.26,<2", "{dep}"]\n'


OLD_WORKER = "harness/ab_worker.py"  # the worker's file before the move into packages


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture()
def repo(tmp_path) -> Path:
    """A repo with tags: old (no worker), v1 (worker), deps (pandas pin changed on top of v1)."""
    r = tmp_path / "repo"
    r.mkdir()
    git(r, "init", "-q")
    git(r, "config", "user.email", "t@example.com")
    git(r, "config", "user.name", "t")
    (r / "pyproject.toml").write_text(PYPROJECT.format(dep="pandas>=2.1,<3"))
    git(r, "add", ".")
    git(r, "commit", "-qm", "old")
    git(r, "tag", "old")
    (r / "harness").mkdir()
    (r / OLD_WORKER).write_text("# worker\n")
    git(r, "add", ".")
    git(r, "commit", "-qm", "worker")
    git(r, "tag", "v1")
    (r / "pyproject.toml").write_text(PYPROJECT.format(dep="pandas>=3"))
    git(r, "commit", "-qam", "deps")
    git(r, "tag", "deps")
    git(r, "checkout", "-q", "v1")
    return r


def test_unknown_revision_is_refused_with_its_name(repo):
    with pytest.raises(revs.CannotCompare, match="unknown revision 'nope'"):
        revs.describe(repo, "nope", "base")


def test_working_tree_is_head_and_dirty_only_when_edited(repo):
    head = revs.describe(repo, revs.WORKING_TREE, "head")
    assert (head.commit, head.dirty, head.path) == (git(repo, "rev-parse", "v1"), False, repo)
    (repo / OLD_WORKER).write_text("# edited\n")
    assert revs.describe(repo, None, "head").dirty
    assert revs.describe(repo, None, "head").labels()["dirty"] is True


def test_dependency_change_is_refused_naming_the_pins(repo):
    base, head = revs.describe(repo, "v1", "base"), revs.describe(repo, "deps", "head")
    with pytest.raises(revs.CannotCompare, match=r"dependencies differ.*pandas>=2.1,<3.*pandas>=3"):
        revs.check_same_dependencies(repo, base, head)
    revs.check_same_dependencies(repo, base, revs.describe(repo, None, "head"))  # same pins: accepted


def test_an_extra_added_does_not_stop_the_comparison(repo):
    """An optional extra (an --impl's torch, the tests' tools) is not what the step runs on: the gate compares."""
    (repo / "pyproject.toml").write_text(PYPROJECT.format(dep="pandas>=2.1,<3")
                                         + '\n[project.optional-dependencies]\npgz = ["torch==2.13.0"]\n')
    revs.check_same_dependencies(repo, revs.describe(repo, "v1", "base"), revs.describe(repo, None, "head"))
    (repo / "pyproject.toml").write_text(PYPROJECT.format(dep="pandas>=2.2,<3")
                                         + '\n[project.optional-dependencies]\npgz = ["torch==2.13.0"]\n')
    with pytest.raises(revs.CannotCompare, match=r"^pyproject.toml dependencies differ between v1 and "):
        revs.check_same_dependencies(repo, revs.describe(repo, "v1", "base"), revs.describe(repo, None, "head"))


def test_two_environments_are_compared_whatever_their_pins(repo, tmp_path):
    other = tmp_path / "python"  # another environment's interpreter: a different file, not a link to this one
    other.write_text(f"#!/bin/sh\nexec {sys.executable} \"$@\"\n")
    other.chmod(0o755)
    base = revs.describe(repo, "v1", "base")
    head = revs.describe(repo, "deps", "head", revs.interpreter(str(other), "--head-python"))
    assert not revs.same_environment(base, head) and head.labels()["python_executable"] == str(other)
    revs.check_same_dependencies(repo, base, head)  # pins differ, environments differ: accepted
    with pytest.raises(revs.CannotCompare, match="--base-python"):
        revs.interpreter(str(tmp_path), "--base-python")  # a folder is not an interpreter


def test_dependency_change_in_the_working_tree_is_seen(repo):
    (repo / "pyproject.toml").write_text(PYPROJECT.format(dep="pandas>=2.2,<3"))
    with pytest.raises(revs.CannotCompare, match="differ"):
        revs.check_same_dependencies(repo, revs.describe(repo, "v1", "base"), revs.describe(repo, None, "head"))


def test_revision_without_worker_cannot_be_measured(repo):
    with pytest.raises(revs.CannotCompare, match="predates the A/B worker protocol"):
        revs.with_worker(repo, revs.describe(repo, "old", "base"))


def test_worker_module_follows_each_revisions_layout(repo):
    assert revs.with_worker(repo, revs.describe(repo, "v1", "base")).worker == "harness.ab_worker"
    (repo / "harness" / "ab").mkdir()
    (repo / "harness" / "ab" / "worker.py").write_text("# worker\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "packages")
    assert revs.with_worker(repo, revs.describe(repo, "HEAD", "base")).worker == "harness.ab.worker"
    assert revs.with_worker(repo, revs.describe(repo, None, "head")).worker == "harness.ab.worker"
    assert revs.with_worker(repo, revs.describe(repo, "v1", "base")).worker == "harness.ab_worker"


def test_checkout_is_the_revisions_code_and_is_removed_also_on_error(repo):
    rev = revs.describe(repo, "deps", "base")
    with revs.checkout(repo, rev) as out:
        path = out.path
        assert "pandas>=3" in (path / "pyproject.toml").read_text()
        assert str(path) in git(repo, "worktree", "list")
    assert not path.exists() and str(path) not in git(repo, "worktree", "list")
    with pytest.raises(KeyboardInterrupt):
        with revs.checkout(repo, rev) as out:
            path = out.path
            raise KeyboardInterrupt
    assert not path.exists() and str(path) not in git(repo, "worktree", "list")


def test_unmet_requirements_names_each_pin_this_environment_lacks():
    from importlib.metadata import version

    numpy = version("numpy")
    text = ('[project]\nrequires-python = ">=3.11,<3.12"\ndependencies = ["numpy>=1.26,<2", "NumPy>=2", '
            '"no-such-package-pgan-xyz>=1", "numpy>=99; python_version < \'3\'", "not a pin ???"]\n')
    assert revs.unmet_requirements(text) == [f"NumPy>=2 (installed {numpy})",
                                             "no-such-package-pgan-xyz>=1 (not installed)",
                                             "'not a pin ???' (not a requirement)"]
    assert revs.unmet_requirements('[project]\nrequires-python = ">=3.99"\n') == [
        f"requires-python >=3.99 (running {sys.version.split()[0]})"]
    assert revs.unmet_requirements("") == []  # no pyproject.toml: nothing pinned


def test_each_revision_is_checked_against_this_environment_not_against_the_other(repo):
    from importlib.metadata import version

    revs.check_environment(repo, revs.describe(repo, "v1", "base"))  # pandas>=2.1,<3: met here
    with pytest.raises(revs.CannotCompare, match=rf"deps .* pandas>=3 \(installed {version('pandas')}\)"):
        revs.check_environment(repo, revs.describe(repo, "deps", "head"))
    (repo / "pyproject.toml").write_text(PYPROJECT.format(dep="scipy>=1.11"))  # differs from v1, met here
    revs.check_environment(repo, revs.describe(repo, None, "head"))


def test_a_revision_older_than_the_worker_runs_todays_when_it_has_the_step_api(repo, flat_step_api):
    with pytest.raises(revs.CannotCompare, match=r"predates .* lacks the step-time API .*\(no scale_steps"):
        with revs.today_worker() as today:
            revs.with_worker(repo, revs.describe(repo, "old", "head"), today)
    git(repo, "checkout", "-q", "old")
    flat_step_api(repo)
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "flat step-time API, no worker")
    with revs.today_worker() as today:
        rev = revs.with_worker(repo, revs.describe(repo, "HEAD", "head"), today)
        assert (rev.worker, rev.worker_path) == (revs.TODAY_WORKER, str(today))
        copy = today / f"{revs.TODAY_WORKER}.py"
        assert copy.read_text() == (Path(revs.__file__).parent / "worker.py").read_text()
    assert not today.exists()
    assert revs.with_worker(repo, revs.describe(repo, "v1", "head"), today).worker == "harness.ab_worker"  # own first
    (repo / "harness/runner.py").unlink()
    with pytest.raises(revs.CannotCompare, match=r"no make_context in harness/runs/runner.py or harness/runner.py"):
        revs.with_worker(repo, revs.describe(repo, None, "head"), today)
