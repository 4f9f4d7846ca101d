"""The one place that builds a scale's training step: grown nets, optimizers, loss scales, step structure, GP mix, batches.

The trainer, the step-time scenario and the benchmarks all run what ``build_scale`` returns, so what
step-time times is exactly what training runs (same structure, same GP mix source, same fade rule).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
from mindspore import Tensor

from .config import FUSED, THREE_GRAPH
from .data import iterate_batches
from .loss_scale import DynamicLossScale
from .modelzoo_rng import ModelZooNoise
from .modelzoo_step import ModelZooStep
from .networks import Discriminator, Generator, build_networks, copy_params
from .schedule import alpha_table
from .train_step import NoiseSource, StepNets, build_step, make_adam, prefix_parameters

# B2: parameters of D's 4x4 head that the ModelZoo re-initialises at the 4 -> 8 transition.
B2_REINIT = ("from_rgb.0.", "scale0_conv.", "scale0_dense.")


def grow(cfg, s_idx: int, prev: tuple[Generator, Discriminator] | None, seed: int):
    """Return (G, D, AvG) for scale index ``s_idx``, keeping the trained layers of ``prev``."""
    g, d = build_networks(cfg, s_idx + 1, seed=seed + 7919 * s_idx)
    if prev is not None:
        copy_params(prev[0], g)
        skip = B2_REINIT if (cfg.deviations.b2_reinit_d_at_8 and s_idx == 1) else ()
        copy_params(prev[1], d, skip=skip)
    avg, _ = build_networks(cfg, s_idx + 1, seed=seed)
    copy_params(g, avg)  # the averaged generator is reset to G at every new scale
    return g, d, avg


def grow_drawn(cfg, s_idx: int, prev: tuple[Generator, Discriminator] | None, noise: NoiseSource | ModelZooNoise):
    """Return ``grow``'s (G, D, AvG) with initial weights drawn from ``noise`` when it is the ModelZoo's stream (B6)."""
    g, d, avg = grow(cfg, s_idx, prev, cfg.seed)
    if isinstance(noise, ModelZooNoise):
        noise.init_scale(g, d, avg, s_idx, reinit_core=cfg.deviations.b2_reinit_d_at_8)
    return g, d, avg


def step_structure(cfg) -> str:
    """Return the structure training runs: the ModelZoo's three graphs under B9, else the fused step."""
    return THREE_GRAPH if cfg.deviations.b9_modelzoo_step_structure else FUSED


def noise_source(cfg, rank: int) -> NoiseSource | ModelZooNoise:
    """Return the rank's latent / GP-mix source: the ModelZoo's numpy stream under B6, else pgan_ref's own."""
    source = ModelZooNoise if cfg.deviations.b6_modelzoo_rng_stream else NoiseSource
    return source(cfg.seed, rank, same_all_ranks=cfg.deviations.b3_same_seed_all_ranks)


def gp_mix_source(cfg, s_idx: int, rank: int, noise: NoiseSource) -> Callable[[], Tensor]:
    """Return the GP mixing-factor source of a scale: D6's fixed N(0,1) mix drawn once per graph, else U[0,1) per step."""
    bs = cfg.batch_size_at(s_idx)
    if cfg.deviations.d6_gp_mix_fixed_normal and cfg.deviations.b6_modelzoo_rng_stream:
        return lambda: noise.fixed_normal_mix(bs)  # drawn from the ModelZoo stream at the scale's first iteration
    if cfg.deviations.d6_gp_mix_fixed_normal:
        fixed = NoiseSource(cfg.seed + 104729 * (s_idx + 1), rank).fixed_normal_mix(bs)
        return lambda: fixed
    return lambda: noise.mix(bs)


@dataclass
class StepOutput:
    """What one iteration returns, on the host: losses, GP, drift, overflow flags, loss scales after it, EMA time."""

    loss_d: float
    loss_g: float
    gp: float
    drift: float
    overflow_d: bool
    overflow_g: bool
    loss_scale_d: float | None
    loss_scale_g: float | None
    ema_s: float | None


@dataclass
class ScaleTraining:
    """One scale's training step, ready to run: ``run(next(batches), alphas[i])`` per iteration."""

    cfg: object
    scale: int
    s_idx: int
    structure: str
    nets: StepNets
    step: Callable
    alphas: np.ndarray
    batches: Iterator[np.ndarray]
    noise: NoiseSource
    mix: Callable[[], Tensor]

    def run(self, real: np.ndarray, alpha: float) -> StepOutput:
        """Run one iteration on a real batch (latents and GP mix in the noise source's order); wait for its results."""
        bs, latent = self.cfg.batch_size_at(self.s_idx), self.cfg.latent
        z_d, z_g, mix = self.noise.iteration_inputs(bs, latent, self.mix)
        out = self.step(Tensor(real), z_d, z_g, Tensor(np.float32(alpha)), mix)
        loss_d, loss_g, gp, drift = (float(o.asnumpy()) for o in out[:4])  # asnumpy waits for the device
        n = self.nets
        return StepOutput(loss_d, loss_g, gp, drift, bool(out[4].asnumpy()), bool(out[5].asnumpy()),
                          n.scale_d.value() if n.scale_d else None, n.scale_g.value() if n.scale_g else None,
                          getattr(self.step, "last_ema_s", None))

    def scalers(self) -> dict:
        """Return the B4 loss scales by network name (empty when B4 is off)."""
        return {k: v for k, v in (("D", self.nets.scale_d), ("G", self.nets.scale_g)) if v is not None}

    def close(self) -> None:
        """Stop the data pipeline."""
        self.batches.close()


def build_scale(cfg, s_idx: int, files: list[Path], noise: NoiseSource, *, nets: tuple | None = None,
                prev: tuple | None = None, rank: int = 0, group_size: int = 1, structure: str | None = None,
                sync: Callable[[], None] = lambda: None) -> ScaleTraining:
    """Return scale ``s_idx``'s training step: ``nets`` (G, D, AvG) as given or grown from ``prev``.

    ``structure`` defaults to the config's (``step_structure``); ``sync`` brackets the ModelZoo
    structure's host-side EMA so its time can be measured. Restore optimizer and loss-scale state
    before the first ``run`` (a compiled step does not see later ``set_data``).
    """
    g, d, avg = nets if nets is not None else grow(cfg, s_idx, prev, cfg.seed)
    for cell, name in ((g, "G"), (d, "D"), (avg, "AvG")):
        prefix_parameters(cell, name)
    b4 = cfg.deviations.b4_dynamic_loss_scale
    opt_d, opt_g = make_adam(d, cfg, "optD", cfg.lr_d(s_idx)), make_adam(g, cfg, "optG", cfg.lr_g(s_idx))
    step_nets = StepNets(g, d, avg, opt_d, opt_g,
                         DynamicLossScale(cfg, "optD") if b4 else None, DynamicLossScale(cfg, "optG") if b4 else None)
    structure = structure or step_structure(cfg)
    fade_real = s_idx > 0 and not cfg.deviations.d3_no_real_fade
    if structure == THREE_GRAPH:
        step = ModelZooStep(step_nets, cfg, fade_real=fade_real, group_size=group_size, sync=sync)
    else:
        step = build_step(step_nets, cfg, fade_real=fade_real, group_size=group_size)
    scale, bs = cfg.scales[s_idx], cfg.batch_size_at(s_idx)
    alphas = alpha_table(cfg.num_batch[s_idx], cfg.alpha_jumps[s_idx], cfg.alpha_size_jumps[s_idx], group_size)
    batches = iterate_batches(files, scale, bs, rank=rank, group_size=group_size, seed=cfg.seed + s_idx,
                              crop=not cfg.deviations.d8_no_crop, mirror=cfg.effective_mirror(),
                              num_workers=cfg.num_workers)
    return ScaleTraining(cfg, scale, s_idx, structure, step_nets, step, alphas, batches, noise,
                         gp_mix_source(cfg, s_idx, rank, noise))
