"""Train-iteration benchmarks per scale and phase (step-time scenario's building blocks), plus loss ranges."""
import time

import pytest

from harness.records.peak import nominal_peak
from harness.runs.runner import run_scenario
from harness.scenarios.common import resolve_config
from harness.scenarios.registry import rebind
from harness.scenarios.step_time import compile_record, phase_records, scale_steps, time_scale


@pytest.mark.scenario("step-time")
def test_step_time_per_scale(benchmark, bench_ctx, rounds, min_time_s):
    """One full train iteration per scale and phase at the suite's preset, in graph (jit) mode."""
    if bench_ctx.devices > 1:  # data parallel: the scenario itself runs the ranks through msrun
        out = benchmark.pedantic(run_scenario, args=("step-time", bench_ctx.out_dir, bench_ctx.preset,
                                 bench_ctx.device, bench_ctx.devices, bench_ctx.variant,
                                 {"iters": str(rounds), "min_time_s": str(min_time_s)}),
                                 kwargs={"seed": bench_ctx.seed}, rounds=1, iterations=1)
        benchmark.extra_info["records_dir"] = str(out)
        return
    ctx, cfg = resolve_config(rebind(bench_ctx, "step-time"))

    def time_preset() -> list[dict]:
        records = []
        for st in scale_steps(ctx, cfg):
            records += time_scale(ctx, st, rounds, warmup=2, min_time_s=min_time_s)
        ctx.emit(records)
        return records

    records = benchmark.pedantic(time_preset, rounds=1, iterations=1)
    benchmark.extra_info["median_step_s"] = {f"{r['labels']['scale']}/{r['labels']['phase']}": r["value"]
                                             for r in records if r["metric"] == "step_time"}


@pytest.mark.scenario("step-time")
@pytest.mark.parametrize("scale_index", [0, 1, 2])
def test_full_width_iteration(benchmark, bench_ctx, scale_index, rounds, full_width):
    """One train iteration of the card's full-width network (512 channels, batch 16) at scales 4, 8, 16."""
    if not full_width:
        pytest.skip("full-width benchmark disabled (--pgan-no-full-width)")
    ctx, cfg = resolve_config(rebind(bench_ctx, "step-time", preset="full-4-16"))
    for st in scale_steps(ctx, cfg):
        if st.s_idx != scale_index:
            continue
        compute = st.compute_at(0.0)
        real = st.fetch()
        t0 = time.perf_counter()
        compute(real)  # the first call compiles; it returns host arrays, so it has finished
        compile_s = time.perf_counter() - t0
        benchmark.pedantic(lambda: compute(real), rounds=max(2, rounds // 3), warmup_rounds=1, iterations=1)
        med = benchmark.stats.stats.median
        peak, derivation = nominal_peak(ctx.meta)
        benchmark.extra_info.update(scale=st.scale, batch_size=cfg.batch_size, median_step_s=med,
                                    images_per_s=cfg.batch_size / med, flops_per_s=st.flops / med,
                                    peak_fraction=st.flops / med / peak if peak else None, peak=derivation)
        ctx.emit(phase_records(ctx, st, "stable", 0.0, list(benchmark.stats.stats.data))
                 + [compile_record(ctx, st, compile_s)])
        return


@pytest.mark.scenario("loss-ranges")
def test_loss_ranges(benchmark, bench_ctx):
    """Train the suite's preset end to end and record per-step losses (the loss-ranges scenario)."""
    out = benchmark.pedantic(run_scenario, args=("loss-ranges", bench_ctx.out_dir, bench_ctx.preset,
                             bench_ctx.device, bench_ctx.devices, bench_ctx.variant, {}),
                             kwargs={"seed": bench_ctx.seed}, rounds=1, iterations=1)
    benchmark.extra_info["records_dir"] = str(out)
