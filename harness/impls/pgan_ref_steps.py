"""pgan_ref's training step per scale as training builds it: the fused graph and, under B9, the ModelZoo's three."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from pgan_ref.data import list_images
from pgan_ref.config import FUSED, THREE_GRAPH
from pgan_ref.scale_step import ScaleTraining, build_scale, grow_drawn, noise_source
from pgan_ref.train_step import StepNets

from harness.impls.names import OURS
from harness.impls.steps import ScaleStep, StepRequest, ms_parameters


@dataclass
class PganRefStep(ScaleStep):
    """A scale's pgan_ref step (``pgan_ref.scale_step.build_scale``) in one structure."""

    training: ScaleTraining | None = None

    @property
    def nets(self) -> StepNets:
        """Return the step's networks and optimizers."""
        return self.training.nets

    def fetch(self):
        """Return the next real batch of the training data pipeline."""
        return next(self.training.batches)

    def compute_at(self, alpha: float) -> Callable:
        """Return ``compute(real)``: one iteration at ``alpha`` as the trainer runs it; returns losses, GP, drift."""

        def compute(real):
            out = self.training.run(real, alpha)
            if out.ema_s is not None:
                self.ema_s.append(out.ema_s)
            return [out.loss_d, out.loss_g, out.gp, out.drift]

        return compute

    def parameters(self) -> Iterator[np.ndarray]:
        """Return the parameters of G and D."""
        return ms_parameters((self.nets.g, self.nets.d))


def timed_structures(cfg) -> tuple[str, ...]:
    """Return the step structures timed: both under B9 (the ModelZoo's and the fused, side by side), else fused."""
    return (FUSED, THREE_GRAPH) if cfg.deviations.b9_modelzoo_step_structure else (FUSED,)


def scale_steps(req: StepRequest) -> Iterator[PganRefStep]:
    """Yield a ready-to-time step per scale and structure of ``req.cfg``, growing the networks like the trainer (under
    B6 the initial weights, latents and GP mix come from the ModelZoo's numpy stream, as in training)."""
    cfg = req.cfg
    files = list_images(req.data)
    noise = noise_source(cfg, req.rank)
    prev = None
    for s_idx, scale in enumerate(cfg.scales):
        nets = grow_drawn(cfg, s_idx, prev, noise)
        for structure in timed_structures(cfg):
            training = build_scale(cfg, s_idx, files, noise, nets=nets, rank=req.rank, group_size=req.devices,
                                   structure=structure, sync=req.sync)
            try:  # the data iterator is closed also when the consumer stops early
                yield PganRefStep(scale, s_idx, structure, req.base_labels(s_idx, structure, OURS),
                                  req.fade_iterations(s_idx), req.flops(s_idx), training=training)
            finally:
                training.close()
        prev = nets[:2]
