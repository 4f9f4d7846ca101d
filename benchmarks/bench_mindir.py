"""MindIR inference benchmark: the mindir-latency scenario itself (export, warm-up, timed calls at batch 1 and 64)."""
import pytest

from harness.runs.runner import run_scenario


@pytest.mark.scenario("mindir-latency")
def test_mindir_latency(benchmark, bench_ctx):
    """The mindir-latency scenario on the suite's preset: its records join the suite's (one run, one code path)."""
    out = benchmark.pedantic(run_scenario, args=("mindir-latency", bench_ctx.out_dir, bench_ctx.preset,
                                                 bench_ctx.device, 1, bench_ctx.variant, {}),
                             kwargs={"seed": bench_ctx.seed}, rounds=1, iterations=1)
    benchmark.extra_info["records_dir"] = str(out)
