"""Benchmark-suite settings, from ``pgan-harness bench`` (environment) or defaults: device, preset, records dir."""
import os
from pathlib import Path

import pgan_ref  # noqa: F401  (sets ONEDNN_MAX_CPU_ISA before mindspore loads)
import pytest


def bench_setting(name: str, default: str) -> str:
    """Return benchmark setting ``name`` from ``PGAN_BENCH_<NAME>`` or ``default``."""
    return os.environ.get(f"PGAN_BENCH_{name.upper()}", default)


@pytest.fixture(scope="session")
def bench_ctx():
    """Return a RunContext shared by the suite's benchmarks; their records go to ``PGAN_BENCH_OUT``."""
    from pgan_ref.device import setup
    from harness.runner import make_context

    device = bench_setting("device", "CPU")
    setup(device)
    return make_context("bench", Path(bench_setting("out", "results/bench")), bench_setting("preset", "cpu-smoke"),
                        device, int(bench_setting("devices", "1")), bench_setting("variant", "reference"), {},
                        seed=int(bench_setting("seed", "0")))


@pytest.fixture(scope="session")
def rounds() -> int:
    """Return the timed rounds per benchmark (``PGAN_BENCH_ROUNDS``; fewer with --smoke)."""
    return int(bench_setting("rounds", "10"))


@pytest.fixture(scope="session")
def min_time_s() -> float:
    """Return the least timed seconds per step-time phase (``PGAN_BENCH_MIN_TIME``): fast steps get more rounds."""
    return float(bench_setting("min_time", "3"))
