"""The ModelZoo's random stream (B6): numpy's legacy generator, drawn in the order its train.py draws from it.

The ModelZoo seeds numpy's global generator (``set_every(1)``) and draws everything from it: each network layer's
initial weights while ``construct_network`` builds a scale (``ConstrainedLayer``: two ``randint`` seeds for
MindSpore's own initialisers, then ``np.random.normal(size=weight.shape)``; biases zero), then per iteration the
D latents, the gradient-penalty mix (one ``np.random.randn(batch, 1, 1, 1)`` drawn while the D train cell compiles,
so at a scale's first iteration only) and the G latents. ``ModelZooNoise`` replays that stream on its own
``RandomState`` (the global generator is left alone), so the same seed gives the ModelZoo's weights and draws.
"""
from __future__ import annotations

import numpy as np
from mindspore import Tensor

from .interop import MODELZOO_TABLE
from .networks import copy_params, local_params

_SEED_HIGH = 1 << 63  # mindspore.common.initializer._numpy_seed: np.random.randint(1, 2**63, dtype=int64)


class ModelZooNoise:
    """Latents, GP mix and initial weights from one legacy numpy stream, in the ModelZoo's order (for one rank)."""

    def __init__(self, seed: int, rank: int, *, same_all_ranks: bool = False):
        self.rs = np.random.RandomState(seed if same_all_ranks or rank == 0 else [seed, rank])
        self.fixed = None  # the GP mix of the current scale's D graph (D6), drawn at its first iteration

    def _layer(self, shape) -> np.ndarray:
        self.rs.randint(1, _SEED_HIGH, dtype=np.int64)  # nn.Conv2d / nn.Dense weight initialiser seed
        self.rs.randint(1, _SEED_HIGH, dtype=np.int64)  # ... and bias initialiser seed (both then overwritten)
        return self.rs.normal(0.0, 1.0, size=shape).astype(np.float32)

    def _draw(self, net, kind: str, part: str, s: int, rows: int | None = None, keep: bool = True) -> None:
        params = local_params(net)
        for _, ours in MODELZOO_TABLE[kind][part][:rows]:
            weight = params[ours.format(s=s, b=s - 1) + ".weight"]
            value = self._layer(tuple(weight.shape))
            if keep:
                weight.set_data(Tensor(value))

    def init_scale(self, g, d, avg, s_idx: int, *, reinit_core: bool) -> None:
        """Draw scale ``s_idx``'s initial weights as ``construct_network`` does and set them in G and D; AvG = G.

        At scale index 1 the ModelZoo rebuilds D's 4x4 fromRGB, conv and dense (``DNet4_4_Last``): those draws
        replace the trained layers only with ``reinit_core`` (B2). The averaged G's draws are made and discarded
        (``cell_deepcopy`` copies G into it), as in the ModelZoo.
        """
        part = "core" if s_idx == 0 else "grown"
        if s_idx == 1:
            self._draw(d, "D", "core", 0, rows=3, keep=reinit_core)
        self._draw(d, "D", part, s_idx)
        self._draw(g, "G", part, s_idx)
        self._draw(g, "G", part, s_idx, keep=False)  # the averaged G's own layers
        copy_params(g, avg)
        self.fixed = None  # a new scale compiles a new D graph

    def latents(self, batch: int, latent: int) -> Tensor:
        """Return ``np.random.randn(batch, latent)`` as float32 (the ModelZoo's ``build_noise_data``)."""
        return Tensor(self.rs.randn(batch, latent).astype(np.float32))

    def mix(self, batch: int) -> Tensor:
        """Return per-step GP mixing factors U[0, 1) of shape (batch, 1, 1, 1) from the stream (D6 off)."""
        return Tensor(self.rs.random_sample((batch, 1, 1, 1)).astype(np.float32))

    def fixed_normal_mix(self, batch: int) -> Tensor:
        """Return the scale's N(0, 1) GP mix (D6), drawn from the stream on its first call after ``init_scale``."""
        if self.fixed is None:
            self.fixed = self.rs.randn(batch, 1, 1, 1).astype(np.float32)
        return Tensor(self.fixed)

    def iteration_inputs(self, batch: int, latent: int, mix) -> tuple[Tensor, Tensor, Tensor]:
        """Return (z_d, z_g, mix), drawn in the ModelZoo's order: D latents, the GP mix (``mix()``), G latents."""
        z_d = self.latents(batch, latent)
        m = mix()
        return z_d, self.latents(batch, latent), m

    def get_state(self) -> dict:
        """Return the stream state and the scale's fixed GP mix (JSON-serialisable)."""
        state = self.rs.get_state(legacy=False)
        state["state"] = {"key": state["state"]["key"].tolist(), "pos": int(state["state"]["pos"])}
        return {"numpy_legacy": state, "fixed_mix": None if self.fixed is None else self.fixed.tolist()}

    def set_state(self, state: dict) -> None:
        """Restore a state returned by ``get_state``."""
        legacy = dict(state["numpy_legacy"])
        legacy["state"] = {"key": np.array(legacy["state"]["key"], dtype=np.uint32), "pos": legacy["state"]["pos"]}
        self.rs.set_state(legacy)
        self.fixed = None if state["fixed_mix"] is None else np.array(state["fixed_mix"], dtype=np.float32)
