"""The CLI contract of issue 16, tried as a user would: exit codes, one-line messages, nothing tracked rewritten."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from harness.cli import build_parser

from .conftest import REPO


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
