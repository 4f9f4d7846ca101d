"""MindIR generator benchmarks (pytest-benchmark, pedantic): cpu-smoke 32x32 width, batch 1 and 64; latency records."""
import pgan_ref  # noqa: F401  (sets ONEDNN_MAX_CPU_ISA before mindspore loads)
import numpy as np
import pytest

from harness.inference import export_mindir, load_runtime
from pgan_ref.config import load_config
from pgan_ref.networks import Generator


@pytest.fixture(scope="module")
def generator():
    cfg = load_config(preset="cpu-smoke")
    g = Generator(cfg.latent, cfg.depth, leak=cfg.leaky, seed=0)  # latency does not depend on trained values
    g.set_train(False)
    return g


@pytest.mark.parametrize("batch_size,rounds", [(1, 50), (64, 10)])
def test_mindir_generator_cpu_smoke(benchmark, bench_ctx, generator, tmp_path, batch_size, rounds):
    info = export_mindir(generator, batch_size, tmp_path / f"G-b{batch_size}.mindir")
    rt = load_runtime(info["path"])
    z = np.random.default_rng(0).standard_normal((batch_size, generator.latent)).astype(np.float32)
    rt(z)  # first call (graph build) outside the rounds
    benchmark.pedantic(rt, args=(z, 0.0), rounds=rounds, warmup_rounds=3, iterations=1)
    benchmark.extra_info.update(batch_size=batch_size, resolution=generator.resolution, runtime=rt.name,
                                mindir_bytes=info["bytes"], mindir_sha256=info["sha256"],
                                images_per_s=batch_size / benchmark.stats.stats.median)
    ms = [t * 1e3 for t in benchmark.stats.stats.data]
    ctx = bench_ctx.replace(scenario="mindir-latency")
    ctx.emit([ctx.record("latency", "ms", float(np.median(ms)), samples=ms, flags=["untrained-weights"],
                         labels={"batch_size": batch_size, "scale": generator.resolution, "runtime": rt.name,
                                 "phase": "steady", "warmup": 3, "timer": "pytest-benchmark"})])
