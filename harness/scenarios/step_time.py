"""Scenario ``step-time``: compile time and steady-state train-step time per scale, phase and step structure.

Every step timed is built by ``pgan_ref.scale_step.build_scale``, exactly as training builds it. Under B9
(the modelzoo variant) each scale is timed in both structures, the fused graph and the ModelZoo's three
graphs with host-side EMA, whose EMA seconds are their own record.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np

from pgan_ref.data import list_images
from pgan_ref.flops import iteration_flops
from pgan_ref.scale_step import FUSED, MODELZOO, ScaleTraining, build_scale, grow
from pgan_ref.schedule import fade_iterations, iterations
from pgan_ref.train_step import NoiseSource, StepNets

from harness.scenarios.api import Option, ScenarioResult, scenario
from harness.scenarios.common import DATA_OPTIONS, data_folder, prepare_data, resolve_config
from harness.scenarios.timing import measure_overhead, sync, time_split

PHASES = (("fade", 0.5), ("stable", 0.0))  # alpha inside the fade-in, and after it


@dataclass
class ScaleStep:
    """One scale's training step in one structure, ready to time: ``compute(fetch())`` per iteration."""

    scale: int
    s_idx: int
    structure: str
    training: ScaleTraining
    base_labels: dict
    fade_iterations: int
    flops: float
    ema_s: list = field(default_factory=list)  # host-side EMA seconds per call (ModelZoo structure only)

    @property
    def nets(self) -> StepNets:
        """Return the step's networks and optimizers."""
        return self.training.nets

    def fetch(self) -> np.ndarray:
        """Return the next real batch."""
        return next(self.training.batches)

    def compute_at(self, alpha: float) -> Callable[[np.ndarray], list]:
        """Return ``compute(real)``: one training iteration at ``alpha`` exactly as the trainer runs it."""

        def compute(real):
            out = self.training.run(real, alpha)
            if out.ema_s is not None:
                self.ema_s.append(out.ema_s)
            return [out.loss_d, out.loss_g, out.gp, out.drift]

        return compute

    def phases(self):
        """Return the (phase, alpha) pairs timed at this scale (no fade at the first scale)."""
        return PHASES if self.s_idx > 0 else PHASES[1:]

    def labels(self, phase: str, alpha: float) -> dict:
        """Return the record labels of one phase."""
        n = self.base_labels["iterations"]
        return {**self.base_labels, "phase": phase, "alpha": alpha,
                "phase_iterations": self.fade_iterations if phase == "fade" else n - self.fade_iterations}


def timed_structures(cfg) -> tuple[str, ...]:
    """Return the step structures timed: both under B9 (the ModelZoo's and the fused, side by side), else fused."""
    return (FUSED, MODELZOO) if cfg.deviations.b9_modelzoo_step_structure else (FUSED,)


def scale_steps(ctx, cfg) -> Iterator[ScaleStep]:
    """Yield a ready-to-time ``ScaleStep`` per scale and structure of ``cfg``, growing the networks like the trainer."""
    files = list_images(data_folder(ctx))
    bs, n_dev = cfg.batch_size, ctx.devices
    noise = NoiseSource(cfg.seed, ctx.rank, same_all_ranks=cfg.deviations.b3_same_seed_all_ranks)
    prev = None
    for s_idx, scale in enumerate(cfg.scales):
        nets = grow(cfg, s_idx, prev, cfg.seed)
        n_it = iterations(cfg.num_batch[s_idx], n_dev)
        for structure in timed_structures(cfg):
            training = build_scale(cfg, s_idx, files, noise, nets=nets, rank=ctx.rank, group_size=n_dev,
                                   structure=structure, sync=sync)
            try:  # the data iterator is closed also when the consumer stops early
                yield ScaleStep(scale, s_idx, structure, training,
                                {"scale": scale, "batch_size": bs, "devices": n_dev, "rank": ctx.rank,
                                 "iterations": n_it, "structure": structure},
                                min(n_it, fade_iterations(cfg.alpha_jumps[s_idx], cfg.alpha_size_jumps[s_idx], n_dev)),
                                iteration_flops(cfg.latent, cfg.depth[:s_idx + 1], bs))
            finally:
                training.close()
        prev = nets[:2]


def param_checksum(cells) -> float:
    """Return a float64 sum of every parameter, to compare ranks after data-parallel steps."""
    return float(sum(np.asarray(p.asnumpy(), np.float64).sum() for c in cells for p in c.trainable_params()))


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
    return ctx.record("compile_time", "s", seconds, labels={"scale": st.scale, "devices": ctx.devices, "rank": ctx.rank,
                                                            "structure": st.structure})


@scenario("step-time", help="time train iterations per scale (compile apart, fade and stable alpha; fused and, "
                             "under B9/modelzoo, the ModelZoo's three-graph structure), 1 or N devices",
          options=(Option("iters", "least timed iterations per scale and phase", 10, int, minimum=1),
                   Option("min_time_s", "least timed seconds per scale and phase (fast steps get more samples)",
                          0.0, float, minimum=0),
                   Option("warmup", "untimed iterations after the compile call", 2, int, minimum=0), *DATA_OPTIONS),
          multi_device=True, prepare=prepare_data)
def run(ctx) -> ScenarioResult:
    """Return step-time, data-time, compile-time, throughput and FLOP/s records for every scale."""
    ctx, cfg = resolve_config(ctx)
    opts = ctx.options()
    records, last = [], None
    for st in scale_steps(ctx, cfg):
        records += time_scale(ctx, st, opts["iters"], opts["warmup"], opts["min_time_s"])
        last = st
    overhead = measure_overhead()
    fastest = min(r["value"] for r in records if r["metric"] == "step_time")
    records.append(ctx.record("harness_overhead", "fraction of step", overhead["timed_call_s"] / fastest,
                              labels={"devices": ctx.devices, "rank": ctx.rank, **overhead}))
    return ScenarioResult(records, checksum=param_checksum([last.nets.g, last.nets.d]))
