"""Shared test fixtures: where the golden data lives, and a fresh output directory."""
import os
from pathlib import Path

import pgan_ref  # noqa: F401  (sets ONEDNN_MAX_CPU_ISA before mindspore loads)
import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    """Return the shared/ folder beside the repository (override with PGAN_SHARED_DIR)."""
    env = os.environ.get("PGAN_SHARED_DIR")
    return Path(env) if env else REPO.parent / "shared"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """Return the golden-data folder, skipping when it is absent."""
    d = shared_dir() / "fixtures"
    if not d.is_dir():
        pytest.skip(f"golden fixtures not found at {d} (set PGAN_SHARED_DIR)")
    return d
