"""The ModelZoo's iteration structure (B9): three graph calls, then the EMA on the host parameter by parameter.

``fake = G(z, alpha)``; D's train cell on ``(real, fake, alpha)``; G's train cell on ``(new z, alpha)``;
then ``avg.set_data(avg * decay + p * (1 - decay))`` for every parameter (``cell_deepcopy_update``).
The D and G train cells are the fused step's own (``train_step.train_cells``), so both structures
compute the same thing. The averaged generator is only replaced host-side: it must never be used
inside a compiled closure afterwards (such a closure keeps the old values; eval and checkpoints read it afresh).
"""
from __future__ import annotations

import time
from typing import Callable

import mindspore as ms
from mindspore import nn

from .train_step import StepNets, fade_real_images, train_cells


def host_ema(avg: nn.Cell, src: nn.Cell, decay: float) -> None:
    """Set every parameter of ``avg`` to ``decay * avg + (1 - decay) * src`` on the host (``set_data``)."""
    for a, p in zip(avg.trainable_params(), src.trainable_params()):
        a.set_data(a * decay + p * (1.0 - decay))


class ModelZooStep:
    """``step(real, z_d, z_g, alpha, mix) -> (loss_d, loss_g, gp, drift, overflow_d, overflow_g)`` as three graphs.

    ``last_ema_s`` holds the seconds the host-side EMA of the last call took, bracketed by ``sync`` (a
    device wait such as ``harness.scenarios.timing.sync``; by default none, so training adds no waits).
    """

    def __init__(self, nets: StepNets, cfg, *, fade_real: bool, group_size: int = 1,
                 sync: Callable[[], None] = lambda: None):
        train_d, train_g = train_cells(nets, cfg, group_size)
        g = nets.g
        self.nets, self.decay, self.sync, self.last_ema_s = nets, cfg.ema_decay, sync, 0.0

        @ms.jit
        def generate(z, alpha):
            return g(z, alpha)

        @ms.jit
        def step_d(real, fake, alpha, mix):
            if fade_real:
                real = fade_real_images(real, alpha)
            (loss_d, gp, drift), overflow = train_d(real, fake, alpha, mix)
            return loss_d, gp, drift, overflow

        @ms.jit
        def step_g(z, alpha):
            return train_g(z, alpha)

        self.generate, self.step_d, self.step_g = generate, step_d, step_g

    def __call__(self, real, z_d, z_g, alpha, mix):
        fake = self.generate(z_d, alpha)
        loss_d, gp, drift, overflow_d = self.step_d(real, fake, alpha, mix)
        loss_g, overflow_g = self.step_g(z_g, alpha)
        self.sync()
        t0 = time.perf_counter()
        host_ema(self.nets.avg_g, self.nets.g, self.decay)
        self.sync()
        self.last_ema_s = time.perf_counter() - t0
        return loss_d, loss_g, gp, drift, overflow_d, overflow_g
