"""Revisions for an A/B run: resolve them, refuse incomparable pairs, check each out as a temporary worktree."""
from __future__ import annotations

import contextlib
import dataclasses
import importlib.metadata as metadata
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet

# The A/B worker's file and module in every layout that speaks the worker protocol: the package layout, then the flat
# one (revisions before the move into packages), so a head runs against a base of either layout.
WORKER_MODULES = {"harness/ab/worker.py": "harness.ab.worker", "harness/ab_worker.py": "harness.ab_worker"}
WORKING_TREE = None  # ``--head`` default: the working tree as it is, uncommitted edits included
# A revision older than the protocol is measured by this checkout's worker, copied beside its code as module
# ``TODAY_WORKER``, when its code has the step-time API that worker builds steps with (``worker.step_api``): the
# files (any one of them: the runner in either layout) and the definition one must hold. Every revision since the
# step-time scenario has them.
TODAY_WORKER = "pgan_harness_today_worker"
STEP_API = ((("harness/scenarios/step_time.py",), "def scale_steps("),
            (("harness/scenarios/common.py",), "def resolve_config("),
            (("harness/runs/runner.py", "harness/runner.py"), "def make_context("),
            (("pgan_ref/device.py",), "def setup("))


class CannotCompare(Exception):
    """The two revisions cannot be measured against each other (exit 2); the message is one line."""


@dataclass(frozen=True)
class Revision:
    """One side of an A/B run: its role, the name asked for, the commit, whether edits are on top, its code, and
    the Python interpreter (its environment: MindSpore and the other dependencies) that runs it."""

    role: str
    name: str
    commit: str
    dirty: bool
    path: Path | None  # None until checked out
    python: str = sys.executable
    worker: str = ""  # the dotted module of its A/B worker (``with_worker``)
    worker_path: str = ""  # a folder put on PYTHONPATH after its code: where ``TODAY_WORKER`` is, for an old revision

    def labels(self) -> dict:
        """Return the record labels of this side."""
        return {"role": self.role, "revision": self.name, "commit": self.commit, "dirty": self.dirty,
                "python_executable": self.python, "worker": self.worker}


# What an interpreter given for a side must import (the worker's own needs); looked up, not imported (fast).
REQUIRED_MODULES = ("mindspore", "numpy", "scipy", "yaml")
PROBE = ("import importlib.util, sys\n"
         "print('python', sys.version.split()[0])\n"
         "print('missing', *[m for m in sys.argv[1:] if importlib.util.find_spec(m) is None])\n")
PROBE_TIMEOUT_S = 60


def interpreter(path: str | None, option: str) -> str:
    """Return the Python interpreter ``path`` (None: this one) after checking that it runs and finds MindSpore and
    the other modules its worker needs, or raise ``CannotCompare`` naming ``option``, the path and what is wrong."""
    if path is None:
        return sys.executable
    give = "give the python of an environment with this project's dependencies, e.g. /envs/ms29/bin/python"
    found = shutil.which(path)
    if not found or not os.access(found, os.X_OK) or os.path.isdir(found):
        raise CannotCompare(f"{option} {path}: not an executable Python interpreter ({give})")
    try:
        out = subprocess.run([found, "-c", PROBE, *REQUIRED_MODULES], capture_output=True, text=True,
                             timeout=PROBE_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except OSError as e:
        raise CannotCompare(f"{option} {path}: cannot be run as a program ({e.strerror}); {give}") from None
    except subprocess.TimeoutExpired:
        raise CannotCompare(f"{option} {path}: did not answer within {PROBE_TIMEOUT_S} s; {give}") from None
    lines = dict(line.partition(" ")[::2] for line in out.stdout.splitlines() if line.startswith(("python", "missing")))
    if out.returncode or "python" not in lines or "missing" not in lines:
        raise CannotCompare(f"{option} {path}: did not answer as a Python interpreter (exit code {out.returncode}); "
                            f"{give}")
    if lines["missing"].strip():
        raise CannotCompare(f"{option} {path}: Python {lines['python']} there cannot import "
                            f"{', '.join(lines['missing'].split())}; {give}")
    return os.path.abspath(found)


def same_environment(base: Revision, head: Revision) -> bool:
    """Return True when both sides run under one interpreter (so their pinned dependencies must agree)."""
    return os.path.realpath(base.python) == os.path.realpath(head.python)


def git(repo: Path, *args: str) -> subprocess.CompletedProcess:
    """Run git in ``repo``; return the completed process (text output, never raises on a non-zero exit)."""
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)


def repo_root(path: Path | str = ".") -> Path:
    """Return the top of the git repository holding ``path``."""
    out = git(Path(path), "rev-parse", "--show-toplevel")
    if out.returncode:
        raise CannotCompare(f"{Path(path).resolve()} is not inside a git repository")
    return Path(out.stdout.strip())


def resolve(repo: Path, rev: str) -> str:
    """Return the full commit id of ``rev`` or raise ``CannotCompare`` naming it."""
    out = git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    if out.returncode:
        raise CannotCompare(f"unknown revision {rev!r} in {repo} (give a commit, branch or tag)")
    return out.stdout.strip()


def is_dirty(repo: Path) -> bool:
    """Return True when tracked files of the working tree differ from HEAD."""
    return bool(git(repo, "status", "--porcelain", "--untracked-files=no").stdout.strip())


def pyproject_text(repo: Path, commit: str | None) -> str:
    """Return pyproject.toml of ``commit`` (the working tree's when None), '' when absent."""
    if commit is None:
        path = repo / "pyproject.toml"
        return path.read_text() if path.exists() else ""
    out = git(repo, "show", f"{commit}:pyproject.toml")
    return out.stdout if out.returncode == 0 else ""


def dependencies(text: str) -> dict:
    """Return what a pyproject.toml pins for a measurement: requires-python and dependencies (sorted). The optional
    extras (``[project.optional-dependencies]``: the tests', an ``--impl``'s torch) are not what a step runs on."""
    project = tomllib.loads(text).get("project", {}) if text else {}
    return {"requires-python": project.get("requires-python"),
            "dependencies": sorted(project.get("dependencies", []))}


def check_same_dependencies(repo: Path, base: Revision, head: Revision) -> None:
    """Raise ``CannotCompare`` when the two revisions pin different ``dependencies`` (one line naming them) and run
    in one environment; two environments (``--base-python`` / ``--head-python``) are compared as they are."""
    if not same_environment(base, head):
        return
    deps = [dependencies(pyproject_text(repo, None if r.path == repo else r.commit)) for r in (base, head)]
    if deps[0] != deps[1]:
        changed = sorted(k for k in deps[0] if deps[0][k] != deps[1][k])
        diff = "; ".join(f"{k}: {deps[0][k]} -> {deps[1][k]}" for k in changed)
        raise CannotCompare(f"pyproject.toml {', '.join(changed)} differ between {base.name} and {head.name} "
                            f"({diff}); measure them in two environments (--base-python / --head-python)")


def unmet_requirements(text: str) -> list[str]:
    """Return what this environment lacks of a pyproject.toml's pins (requires-python, and each dependency whose
    marker applies here), one 'PIN (installed VERSION | not installed)' each; [] when every pin is met."""
    deps, out = dependencies(text), []
    python = platform.python_version()
    try:
        if deps["requires-python"] and python not in SpecifierSet(deps["requires-python"]):
            out.append(f"requires-python {deps['requires-python']} (running {python})")
    except InvalidSpecifier:
        out.append(f"requires-python {deps['requires-python']!r} (not a version specifier)")
    for pin in deps["dependencies"]:
        try:
            req = Requirement(pin)
        except InvalidRequirement:
            out.append(f"{pin!r} (not a requirement)")
            continue
        if req.marker is not None and not req.marker.evaluate():
            continue
        try:
            have = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            out.append(f"{pin} (not installed)")
            continue
        if not req.specifier.contains(have, prereleases=True):
            out.append(f"{pin} (installed {have})")
    return out


def check_environment(repo: Path, rev: Revision) -> None:
    """Raise ``CannotCompare`` naming the unmet pins when this environment does not satisfy the requirements
    ``rev``'s own pyproject.toml pins (requires-python and dependencies; the optional extras are not needed to
    measure). Run only for a revision measured by this interpreter."""
    try:
        unmet = unmet_requirements(pyproject_text(repo, None if rev.path == repo else rev.commit))
    except tomllib.TOMLDecodeError as e:
        raise CannotCompare(f"{rev.role} revision {rev.name} ({rev.commit[:10]}): pyproject.toml is not TOML ({e})")
    if unmet:
        raise CannotCompare(f"{rev.role} revision {rev.name} ({rev.commit[:10]}) pins what this environment does not "
                            f"have: {'; '.join(unmet)}")


def _text(repo: Path, rev: Revision, path: str) -> str | None:
    """Return the file ``path`` of ``rev`` (the working tree's when it is the working tree), None when absent."""
    if rev.path == repo:
        return (repo / path).read_text() if (repo / path).exists() else None
    out = git(repo, "show", f"{rev.commit}:{path}")
    return out.stdout if out.returncode == 0 else None


def step_api_problem(repo: Path, rev: Revision) -> str | None:
    """Return what ``rev``'s code lacks of the step-time API today's worker builds steps with, None when it has it."""
    for files, definition in STEP_API:
        if not any(definition in (_text(repo, rev, f) or "") for f in files):
            return f"no {definition.removeprefix('def ').rstrip('(')} in {' or '.join(files)}"
    return None


def with_worker(repo: Path, rev: Revision, today: Path | None = None) -> Revision:
    """Return ``rev`` with the module of its A/B worker. A revision that predates the protocol is refused
    (``CannotCompare`` with the reason), or, given ``today`` (the folder of ``today_worker``), run by this checkout's
    worker when its code has the step-time API (``step_api_problem``)."""
    for path, module in WORKER_MODULES.items():
        if _text(repo, rev, path) is not None:
            return dataclasses.replace(rev, worker=module)
    what = (f"{rev.role} revision {rev.name} ({rev.commit[:10]}) predates the A/B worker protocol "
            f"(none of {', '.join(WORKER_MODULES)})")
    if today is None:
        raise CannotCompare(f"{what}; it cannot be measured: choose a later base")
    problem = step_api_problem(repo, rev)
    if problem:
        raise CannotCompare(f"{what} and lacks the step-time API today's worker needs ({problem})")
    return dataclasses.replace(rev, worker=TODAY_WORKER, worker_path=str(today))


@contextlib.contextmanager
def today_worker() -> Iterator[Path]:
    """Yield a temporary folder holding this checkout's A/B worker as module ``TODAY_WORKER`` (it imports nothing
    of the harness at module level, so it runs on any revision's code); removed on exit."""
    tmp = Path(tempfile.mkdtemp(prefix="pgan-ab-today-worker-"))
    try:
        shutil.copyfile(Path(__file__).with_name("worker.py"), tmp / f"{TODAY_WORKER}.py")
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def describe(repo: Path, rev: str | None, role: str, python: str = sys.executable) -> Revision:
    """Return revision ``rev`` (None: the working tree, dirty when tracked files changed) before any checkout,
    run by the interpreter ``python``."""
    if rev is WORKING_TREE:
        return Revision(role, "working tree", resolve(repo, "HEAD"), is_dirty(repo), repo, python)
    return Revision(role, rev, resolve(repo, rev), False, None, python)


@contextlib.contextmanager
def checkout(repo: Path, rev: Revision) -> Iterator[Revision]:
    """Yield ``rev`` with its code in a folder: a temporary ``git worktree add --detach`` of its commit, removed
    on exit (also on an exception or an interrupt); the working tree is used as it is."""
    if rev.path is not None:
        yield rev
        return
    tmp = Path(tempfile.mkdtemp(prefix=f"pgan-ab-{rev.role}-"))
    path = tmp / "tree"
    try:
        out = git(repo, "worktree", "add", "--detach", str(path), rev.commit)
        if out.returncode:
            raise CannotCompare(f"git worktree add of {rev.name} failed: {out.stderr.strip()}")
        yield dataclasses.replace(rev, path=path)
    finally:
        git(repo, "worktree", "remove", "--force", str(path))
        shutil.rmtree(tmp, ignore_errors=True)
        git(repo, "worktree", "prune")
