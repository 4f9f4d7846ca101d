"""Shared test fixtures: where the golden data lives, and a fresh output directory."""
from pathlib import Path

import pgan_ref  # noqa: F401  (sets ONEDNN_MAX_CPU_ISA before mindspore loads)
import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"  # committed: a fresh clone's tests need nothing outside it
PGAN_CARD = FIXTURES / "pgan_card_performance.md"  # the ModelZoo PGAN card's performance table


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """Return the folder of the committed golden data (the .npz files described in its README)."""
    return FIXTURES
