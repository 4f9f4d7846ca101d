"""Scenario ``step-time``: compile time and steady-state train-step time per scale, phase, structure and implementation.

The steps come from ``harness.impls``: pgan_ref's (built by ``pgan_ref.scale_step.build_scale``, exactly as
training builds it; under B9, the modelzoo variant, each scale in both structures, the fused graph and the
ModelZoo's three graphs with host-side EMA, whose EMA seconds are their own record), or with ``--impl`` another
implementation's, such as the user's own ModelZoo checkout, timed with the same rules and records.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np

from harness.errors import BadInput
from harness.impls.registry import IMPLS, checked
from harness.impls.names import OURS
from harness.impls.steps import ScaleStep, StepRequest
from harness.scenarios.api import Option, ScenarioResult, int_list, scenario
from harness.scenarios.common import DATA_OPTIONS, data_folder, prepare_data, resolve_config
from harness.scenarios.timing import measure_overhead, sync, time_split


def scale_steps(ctx, cfg) -> Iterator[ScaleStep]:
    """Yield a ready-to-time step per scale and structure of ``cfg`` from the run's implementation (``--impl``)."""
    opts = ctx.options()
    impl = checked(opts.get("impl", OURS), opts, ctx.devices)
    yield from impl.steps(StepRequest(cfg, data_folder(ctx), ctx.devices, ctx.rank, ctx.device, sync, opts))


def param_checksum(arrays) -> float:
    """Return a float64 sum of every parameter array, to compare ranks after data-parallel steps."""
    return float(sum(np.asarray(a, np.float64).sum() for a in arrays))


def phase_records(ctx, st: ScaleStep, phase: str, alpha: float, compute_s: list,
                  data_s: list | None = None) -> list[dict]:
    """Return the step-time, throughput, FLOP/s and (when measured) data-time and host-EMA records of one phase."""
    labels = st.labels(phase, alpha)
    med = float(np.median(compute_s))
    images = st.base_labels["batch_size"] * st.base_labels["devices"]
    records = [ctx.record("step_time", "s", med, samples=compute_s, labels=labels),
               ctx.record("throughput", "images/s", images / med, labels=labels),
               ctx.record("flops_achieved", "FLOP/s", st.flops / med,
                          labels={**labels, "flops_per_iteration": st.flops})]
    if data_s:
        records.append(ctx.record("data_time", "s", float(np.median(data_s)), samples=data_s, labels=labels))
    if st.ema_s:  # the ModelZoo structure's host-side EMA: the timed calls are the last ones
        ema = st.ema_s[-len(compute_s):]
        records.append(ctx.record("host_ema_time", "s", float(np.median(ema)), samples=ema,
                                  labels={**labels, "share_of_step": float(np.median(ema)) / med}))
    return records


def time_scale(ctx, st: ScaleStep, iters: int, warmup: int, min_time_s: float = 0.0) -> list[dict]:
    """Time every phase of one scale; return the phase records and the scale's compile-time record."""
    records, compile_s = [], None
    for phase, alpha in st.phases():
        st.ema_s.clear()
        t = time_split(st.fetch, st.compute_at(alpha), warmup=warmup, min_count=iters, min_time_s=min_time_s)
        compile_s = t.compute.first_s if compile_s is None else compile_s  # the first call compiles the graph
        records += phase_records(ctx, st, phase, alpha, t.compute.samples, t.data.samples)
    return records + [compile_record(ctx, st, compile_s)]


def compile_record(ctx, st: ScaleStep, seconds: float) -> dict:
    """Return the compile-time record of one scale and structure (its first call: graph build plus one step)."""
    impl = {"impl": st.base_labels["impl"]} if "impl" in st.base_labels else {}
    return ctx.record("compile_time", "s", seconds, labels={"scale": st.scale, "devices": ctx.devices, "rank": ctx.rank,
                                                            "structure": st.structure, **impl})


def check_impl(ctx) -> None:
    """Raise BadInput, before any device is set up, when ``--impl`` and its checkout option do not fit together."""
    opts = ctx.options()
    checked(opts["impl"], opts, ctx.devices)


def timed_scales(cfg, wanted: list[int] | None) -> set[int]:
    """Return the scales to time: ``wanted`` (each one of the config's scales, else BadInput), or every scale."""
    if wanted is None:
        return set(cfg.scales)
    unknown = sorted(set(wanted) - set(cfg.scales))
    if unknown:
        raise BadInput(f"--set scales_timed={','.join(map(str, wanted))}: {', '.join(map(str, unknown))} not among the "
                       f"config's scales {cfg.scales}")
    return set(wanted)


@scenario("step-time", help="time train iterations per scale (compile apart, fade and stable alpha; fused and, "
                             "under B9/modelzoo, the ModelZoo's three-graph structure), 1 or N devices",
          options=(Option("impl", "implementation timed (also --impl): " + "; ".join(
                       f"{name}: {i.help}" for name, i in IMPLS.items()), OURS, choices=tuple(IMPLS)),
                   Option("modelzoo_dir", "the ModelZoo PGAN checkout --impl modelzoo-code imports (research/cv/PGAN "
                                          "of mindspore-ai/models, or the repository's root)"),
                   Option("pgz_dir", "the pytorch_GAN_zoo checkout --impl pytorch-gan-zoo imports (the root of "
                                     "facebookresearch/pytorch_GAN_zoo; needs torch)"),
                   Option("iters", "least timed iterations per scale and phase", 10, int, minimum=1),
                   Option("min_time_s", "least timed seconds per scale and phase (fast steps get more samples)",
                          0.0, float, minimum=0),
                   Option("warmup", "untimed iterations after the compile call", 2, int, minimum=0),
                   Option("scales_timed", "comma-separated scales to time, e.g. 16 (default every scale; the others "
                                          "are grown through: built, never compiled or run)", None, int_list,
                          minimum=4),
                   *DATA_OPTIONS),
          multi_device=True, prepare=prepare_data, check=check_impl)
def run(ctx) -> ScenarioResult:
    """Return step-time, data-time, compile-time, throughput and FLOP/s records for every timed scale."""
    ctx, cfg = resolve_config(ctx)
    opts = ctx.options()
    timed = timed_scales(cfg, opts["scales_timed"])
    records, last = [], None
    for st in scale_steps(ctx, cfg):
        if st.scale in timed:
            records += time_scale(ctx, st, opts["iters"], opts["warmup"], opts["min_time_s"])
        last = st
    overhead = measure_overhead()
    fastest = min(r["value"] for r in records if r["metric"] == "step_time")
    records.append(ctx.record("harness_overhead", "fraction of step", overhead["timed_call_s"] / fastest,
                              labels={"devices": ctx.devices, "rank": ctx.rank, **overhead}))
    return ScenarioResult(records, checksum=param_checksum(last.parameters()))
