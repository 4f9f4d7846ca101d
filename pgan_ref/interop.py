"""Load pytorch_GAN_zoo checkpoints (a state dict saved as npz) into pgan_ref's MindSpore cells."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from mindspore import Tensor

from .networks import Discriminator, Generator, local_params

# pytorch_GAN_zoo name (without the .module.weight/.bias suffix) -> pgan_ref name, per network.
_G_RULES = [(r"formatLayer", "format"), (r"groupScale0\.0", "scale0"),
            (r"scaleLayers\.(\d+)\.(\d)", r"blocks.\1.conv\2"), (r"toRGBLayers\.(\d+)", r"to_rgb.\1")]
_D_RULES = [(r"fromRGBLayers\.(\d+)", r"from_rgb.\1"), (r"scaleLayers\.(\d+)\.(\d)", r"blocks.\1.conv\2"),
            (r"groupScaleZero\.0", "scale0_conv"), (r"groupScaleZero\.1", "scale0_dense"),
            (r"decisionLayer", "decision")]


def _rename(name: str, rules) -> str | None:
    m = re.fullmatch(r"(.+)\.module\.(weight|bias)", name)
    if not m:
        return None
    for pattern, repl in rules:
        if re.fullmatch(pattern, m.group(1)):
            return re.sub(pattern, repl, m.group(1)) + "." + m.group(2)
    return None


def _subdict(npz, prefix: str) -> dict[str, np.ndarray]:
    return {k[len(prefix):]: npz[k] for k in npz.files if k.startswith(prefix)}


def _n_scales(state: dict, key: str) -> int:
    return len({m.group(1) for k in state if (m := re.match(rf"{key}\.(\d+)\.", k))})


def generator_from_state(state: dict[str, np.ndarray]) -> Generator:
    """Return a Generator shaped like a pytorch_GAN_zoo GNet state dict and loaded with its tensors."""
    latent = state["formatLayer.module.weight"].shape[1]
    depths = [state["groupScale0.0.module.weight"].shape[0]]
    depths += [state[f"scaleLayers.{s}.0.module.weight"].shape[0] for s in range(_n_scales(state, "scaleLayers"))]
    g = Generator(latent, depths)
    _load(g, state, _G_RULES)
    return g


def discriminator_from_state(state: dict[str, np.ndarray]) -> Discriminator:
    """Return a Discriminator shaped like a pytorch_GAN_zoo DNet state dict and loaded with its tensors."""
    d0 = state["groupScaleZero.0.module.weight"].shape[0]
    mbstd = state["groupScaleZero.0.module.weight"].shape[1] == d0 + 1
    depths = [d0] + [state[f"scaleLayers.{s}.0.module.weight"].shape[0]
                     for s in range(_n_scales(state, "scaleLayers"))]
    d = Discriminator(depths, minibatch_std=mbstd)
    _load(d, state, _D_RULES)
    return d


def _load(cell, state: dict, rules) -> None:
    params = local_params(cell)
    missing = set(params)
    for name, value in state.items():
        ours = _rename(name, rules)
        if ours is None or ours not in params:
            continue
        if tuple(params[ours].shape) != value.shape:
            raise ValueError(f"{name}: shape {value.shape} does not fit {ours} {tuple(params[ours].shape)}")
        params[ours].set_data(Tensor(np.ascontiguousarray(value, dtype=np.float32)))
        missing.discard(ours)
    if missing:
        raise ValueError(f"checkpoint lacks tensors for: {', '.join(sorted(missing))}")


def load_pytorch_gan_zoo(npz_path: str | Path, *, averaged: bool = False) -> tuple[Generator, Discriminator]:
    """Return (G, D) built at the checkpoint's scale from an npz of ``G.<name>``/``D.<name>`` tensors.

    With ``averaged=True`` the generator is built from the ``avgG.<name>`` tensors instead.
    """
    with np.load(npz_path) as npz:
        g_state = _subdict(npz, "avgG." if averaged else "G.")
        d_state = _subdict(npz, "D.")
    if not g_state or not d_state:
        raise ValueError(f"{npz_path}: expected keys 'G.<name>' and 'D.<name>' (pytorch_GAN_zoo state dicts "
                         f"saved with numpy.savez({{'G.' + k: v.numpy()}}))")
    return generator_from_state(g_state), discriminator_from_state(d_state)
