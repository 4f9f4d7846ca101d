"""The import graph: the contracts in pyproject.toml hold (import-linter) and no module cycle exists (grimp)."""
from __future__ import annotations

import subprocess
import sys

import grimp

from .conftest import REPO


def import_cycles(graph) -> list[tuple[str, str]]:
    """Return the pairs (a, b) where a imports b directly and b leads back to a."""
    return sorted({tuple(sorted((a, b))) for a in graph.modules for b in graph.find_modules_directly_imported_by(a)
                   if graph.find_shortest_chain(importer=b, imported=a)})


def test_import_contracts_hold():
    # In a subprocess: import-linter's logging setup disables every logger already created in this process
    # (logging.config's disable_existing_loggers), which silenced pgan_ref.data's warnings in later tests.
    code = (f"import sys; from importlinter.cli import lint_imports; "
            f"sys.exit(lint_imports({str(REPO / 'pyproject.toml')!r}, no_cache=True, no_logo=True))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]


def test_no_import_cycles_in_the_packages():
    assert import_cycles(grimp.build_graph("harness", "pgan_ref")) == []


def test_a_cycle_is_found():
    graph = grimp.ImportGraph()
    for importer, imported in (("pkg.a", "pkg.b"), ("pkg.b", "pkg.c"), ("pkg.c", "pkg.a"), ("pkg.c", "pkg.d")):
        graph.add_import(importer=importer, imported=imported)
    assert import_cycles(graph) == [("pkg.a", "pkg.b"), ("pkg.a", "pkg.c"), ("pkg.b", "pkg.c")]
