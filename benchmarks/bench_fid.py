"""FID benchmarks (pytest-benchmark, pedantic): Inception images/s at batch 32, preprocessing, distance at d=2048,
and the fid scenario end to end on the suite preset's trained generator."""
from pathlib import Path

import numpy as np
import pytest

from harness.quality.fid import WeightsError, get_extractor
from harness.quality.fid.distance import frechet_distance, statistics
from harness.quality.fid.preprocess import preprocess
from harness.runs.runner import run_scenario
from pgan_ref.config import load_config

BATCH = 32


@pytest.fixture(scope="module")
def extractor():
    try:
        return get_extractor()
    except WeightsError as e:
        pytest.skip(f"FID Inception weights unavailable: {e}")


@pytest.mark.scenario("fid")
def test_inception_features_batch32(benchmark, extractor):
    x = np.random.default_rng(0).uniform(-1, 1, (BATCH, 3, 299, 299)).astype(np.float32)
    benchmark.pedantic(extractor.network_features, args=(x, True), rounds=3, warmup_rounds=1, iterations=1)
    benchmark.extra_info.update(batch_size=BATCH, images_per_s=BATCH / benchmark.stats.stats.median)


@pytest.mark.scenario("fid")
@pytest.mark.parametrize("mode", ["pytorch-fid", "clean", "tf1"])
def test_preprocess_batch32_from_128px(benchmark, mode):
    imgs = np.random.default_rng(1).integers(0, 256, (BATCH, 128, 128, 3), dtype=np.uint8)
    benchmark.pedantic(preprocess, args=(imgs, mode), rounds=5, warmup_rounds=1, iterations=1)
    benchmark.extra_info.update(batch_size=BATCH, images_per_s=BATCH / benchmark.stats.stats.median)


@pytest.mark.scenario("fid")
def test_frechet_distance_d2048(benchmark):
    rng = np.random.default_rng(2)
    stats = [statistics(rng.normal(size=(4096, 2048)).astype(np.float32)) for _ in range(2)]
    benchmark.pedantic(frechet_distance, args=(*stats[0], *stats[1]), rounds=3, warmup_rounds=1, iterations=1)
    benchmark.extra_info["dim"] = 2048


def trained_checkpoint(bench_ctx) -> Path:
    """Return the newest top-scale AvG checkpoint under the suite's results, training one (loss-ranges) if none."""
    top = load_config(preset=bench_ctx.preset).scales[-1]

    def newest():
        found = sorted(bench_ctx.out_dir.glob(f"train-*/{top}/AvG_*.ckpt"), key=lambda p: p.stat().st_mtime)
        return found[-1] if found else None

    if newest() is None:
        run_scenario("loss-ranges", bench_ctx.out_dir, bench_ctx.preset, bench_ctx.device, bench_ctx.devices,
                     bench_ctx.variant, {}, seed=bench_ctx.seed)
    return newest()


@pytest.mark.scenario("fid")
def test_fid_of_trained_generator(benchmark, bench_ctx, extractor):
    """The fid scenario end to end: 256 AvG samples of the trained preset vs the synthetic training folder."""
    ckpt = trained_checkpoint(bench_ctx)
    benchmark.pedantic(run_scenario, args=("fid", bench_ctx.out_dir, bench_ctx.preset, bench_ctx.device, 1,
                                           bench_ctx.variant, {"checkpoint": str(ckpt)}),
                       kwargs={"seed": bench_ctx.seed}, rounds=1, iterations=1)
    benchmark.extra_info.update(checkpoint=str(ckpt), n=256)


@pytest.mark.scenario("quality")
def test_swd_ms_ssim_of_trained_generator(benchmark, bench_ctx):
    """The paper's SWD and MS-SSIM (256 AvG samples and 128 generated / real pairs) of the trained preset's generator,
    as the quality scenario computes them (real images: the training view at the generator's scale)."""
    from harness.scenarios.common import data_folder, resolve_config
    from harness.scenarios.quality import evaluate_snapshot
    from harness.scenarios.registry import rebind

    ckpt = trained_checkpoint(bench_ctx)
    ctx, cfg = resolve_config(rebind(bench_ctx, "quality", devices=1, overrides={
        "metrics": "swd,ms_ssim", "n": "256", "latent_seed": str(bench_ctx.seed)}))
    opts = ctx.options()
    records = benchmark.pedantic(evaluate_snapshot, args=(ctx, cfg, ckpt, opts, data_folder(ctx)), rounds=1,
                                 iterations=1)
    ctx.emit(records)
    values = {r["metric"]: r["value"] for r in records}
    swd = next(r for r in records if r["metric"] == "swd")
    benchmark.extra_info.update(checkpoint=str(ckpt), n=256, swd_x1e3_avg=values["swd"],
                                swd_x1e3_levels=swd["params"]["levels"], ms_ssim_fake=values["ms_ssim_fake"],
                                ms_ssim_real=values["ms_ssim_real"], pairs=swd["labels"]["n"] // 2)
