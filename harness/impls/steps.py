"""What every implementation gives the step-time scenario: the request it builds from and one scale's timed step."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from pgan_ref.data import iterate_batches, list_images
from pgan_ref.flops import iteration_flops
from pgan_ref.schedule import fade_iterations, iterations

from harness.impls.names import OURS

PHASES = (("fade", 0.5), ("stable", 0.0))  # alpha inside the fade-in, and after it


@dataclass(frozen=True)
class StepRequest:
    """What an implementation builds its scale steps from: the resolved config, the data folder, devices, options.

    ``cfg`` (a ``PGANConfig``) gives the scales, depths, batch size, schedule and seed every implementation
    is timed at; ``sync`` waits for the device (it brackets a host-side EMA so its time can be recorded);
    ``options`` are the scenario's resolved options (``modelzoo_dir``...).
    """

    cfg: object
    data: Path
    devices: int = 1
    rank: int = 0
    device: str = "CPU"
    sync: Callable[[], None] = lambda: None
    options: dict = field(default_factory=dict)

    def base_labels(self, s_idx: int, structure: str, impl: str) -> dict:
        """Return the record labels every phase of scale ``s_idx`` carries (its own batch size, ``batch_size_list``
        semantics; ``impl`` on other implementations than ours)."""
        cfg = self.cfg
        return {"scale": cfg.scales[s_idx], "batch_size": cfg.batch_size_at(s_idx), "devices": self.devices,
                "rank": self.rank,
                "iterations": iterations(cfg.num_batch[s_idx], self.devices), "structure": structure,
                **({} if impl == OURS else {"impl": impl})}

    def real_batches(self, s_idx: int) -> Iterator[np.ndarray]:
        """Return the harness's real batches for scale ``s_idx`` (float32 NCHW numpy, the config's batch size, crop
        and mirror, seeded per scale) as the training data pipeline yields them; close it when done."""
        cfg = self.cfg
        return iterate_batches(list_images(self.data), cfg.scales[s_idx], cfg.batch_size_at(s_idx),
                               seed=cfg.seed + s_idx, crop=not cfg.deviations.d8_no_crop,
                               mirror=cfg.effective_mirror(), num_workers=cfg.num_workers)

    def fade_iterations(self, s_idx: int) -> int:
        """Return how many of scale ``s_idx``'s iterations fade in (alpha > 0) on the request's devices."""
        cfg = self.cfg
        return min(iterations(cfg.num_batch[s_idx], self.devices),
                   fade_iterations(cfg.alpha_jumps[s_idx], cfg.alpha_size_jumps[s_idx], self.devices))

    def flops(self, s_idx: int, latent: int | None = None) -> float:
        """Return the model's FLOPs per iteration at scale ``s_idx`` (pgan_ref's count of the same network and batch;
        ``latent`` when the implementation's differs from the config's)."""
        cfg = self.cfg
        return iteration_flops(latent or cfg.latent, cfg.depth[:s_idx + 1], cfg.batch_size_at(s_idx))


@dataclass
class ScaleStep(ABC):
    """One scale's training step of one implementation and structure, ready to time: ``compute_at(a)(fetch())``.

    Implementations subclass it with ``fetch``, ``compute_at`` and ``parameters``.
    """

    scale: int
    s_idx: int
    structure: str
    base_labels: dict
    fade_iterations: int
    flops: float
    ema_s: list = field(default_factory=list)  # host-side EMA seconds per call (three-graph structures only)

    @abstractmethod
    def fetch(self) -> np.ndarray:
        """Return the next real batch."""

    @abstractmethod
    def compute_at(self, alpha: float) -> Callable[[object], object]:
        """Return ``compute(real)``: one training iteration at ``alpha`` exactly as the implementation trains."""

    @abstractmethod
    def parameters(self) -> Iterator[np.ndarray]:
        """Return G's and D's parameters as arrays (the data-parallel checksum sums them)."""

    def phases(self):
        """Return the (phase, alpha) pairs timed at this scale (no fade at the first scale)."""
        return PHASES if self.s_idx > 0 else PHASES[1:]

    def labels(self, phase: str, alpha: float) -> dict:
        """Return the record labels of one phase."""
        n = self.base_labels["iterations"]
        return {**self.base_labels, "phase": phase, "alpha": alpha,
                "phase_iterations": self.fade_iterations if phase == "fade" else n - self.fade_iterations}


def ms_parameters(cells: Iterable) -> Iterator[np.ndarray]:
    """Yield the trainable parameters of MindSpore ``cells`` as numpy arrays."""
    for c in cells:
        for p in c.trainable_params():
            yield p.asnumpy()
