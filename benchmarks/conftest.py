"""The benchmark suite's pytest plugin: its options, the shared run context, scenario selection by marker,
and one ``bench_time`` record per benchmark through pytest-benchmark's ``pytest_benchmark_update_json`` hook."""
from pathlib import Path

import pgan_ref  # noqa: F401  (sets ONEDNN_MAX_CPU_ISA before mindspore loads)
import pytest


def pytest_addoption(parser):
    """Add the suite's settings (``pgan-harness bench`` passes them; defaults run the embedded CPU default)."""
    g = parser.getgroup("pgan-harness", "benchmark suite settings")
    g.addoption("--pgan-device", default="CPU", help="device kind (default CPU)")
    g.addoption("--pgan-devices", type=int, default=1, help="data-parallel devices for step-time (msrun when > 1)")
    g.addoption("--pgan-preset", default="cpu-smoke", help="preset (default cpu-smoke)")
    g.addoption("--pgan-variant", default="reference", help="model variant (default reference)")
    g.addoption("--pgan-rounds", type=int, default=10, help="least timed rounds per benchmark (default 10)")
    g.addoption("--pgan-min-time", type=float, default=3.0, help="least timed seconds per step-time phase")
    g.addoption("--pgan-records", default="results/bench/records", help="records folder of the suite")
    g.addoption("--pgan-seed", type=int, default=0, help="seed of the benchmark runs (default 0)")
    g.addoption("--pgan-no-full-width", action="store_true", help="skip the full-width (512-channel) benchmark")
    g.addoption("--pgan-scenarios", default=None,
                help="comma-separated scenarios whose benchmarks run (marker `scenario(NAME)`; default all)")


def pytest_configure(config):
    """Declare the ``scenario(NAME)`` marker that ties a benchmark to the scenario it measures."""
    config.addinivalue_line("markers", "scenario(name): the harness scenario this benchmark measures")


def pytest_collection_modifyitems(config, items):
    """Deselect the benchmarks of scenarios not chosen with ``--pgan-scenarios``."""
    chosen = config.getoption("--pgan-scenarios")
    if not chosen:
        return
    names = {s.strip() for s in chosen.split(",") if s.strip()}
    keep, drop = [], []
    for item in items:
        mark = item.get_closest_marker("scenario")
        (keep if mark and mark.args[0] in names else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def bench_ctx(pytestconfig):
    """Return the suite's run context (scenario ``bench``; ``registry.rebind`` makes a scenario's own from it)."""
    from harness.records.machine import collect_meta
    from harness.records.store import new_run_id
    from harness.scenarios.api import RunContext
    from pgan_ref.device import setup

    opt = pytestconfig.getoption
    setup(opt("--pgan-device"))
    return RunContext(run_id=new_run_id(), scenario="bench", out_dir=Path(opt("--pgan-records")),
                      preset=opt("--pgan-preset"), device=opt("--pgan-device"), devices=opt("--pgan-devices"),
                      variant=opt("--pgan-variant"), seed=opt("--pgan-seed"),
                      meta=collect_meta(opt("--pgan-device"), opt("--pgan-devices")))


@pytest.fixture(scope="session")
def rounds(pytestconfig) -> int:
    """Return the least timed rounds per benchmark (``--pgan-rounds``)."""
    return pytestconfig.getoption("--pgan-rounds")


@pytest.fixture(scope="session")
def min_time_s(pytestconfig) -> float:
    """Return the least timed seconds per step-time phase (``--pgan-min-time``): fast steps get more rounds."""
    return pytestconfig.getoption("--pgan-min-time")


@pytest.fixture(scope="session")
def full_width(pytestconfig) -> bool:
    """Return whether the full-width benchmark runs (off with ``--pgan-no-full-width``)."""
    return not pytestconfig.getoption("--pgan-no-full-width")


def pytest_benchmark_update_json(config, benchmarks, output_json):
    """Append one ``bench_time`` record per benchmark (raw round times as samples) to the suite's records."""
    from harness.records.from_benchmark import benchmark_records
    from harness.records.machine import collect_meta
    from harness.records.store import RecordStore, new_run_id

    opt = config.getoption
    params = {"preset": opt("--pgan-preset"), "device": opt("--pgan-device"), "devices": opt("--pgan-devices"),
              "variant": opt("--pgan-variant")}
    RecordStore(Path(opt("--pgan-records"))).append(
        benchmark_records(output_json, new_run_id(), collect_meta(opt("--pgan-device"), opt("--pgan-devices")),
                          params))
