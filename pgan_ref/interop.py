"""Checkpoint layouts: recognise pgan_ref's, the MindSpore ModelZoo's and pytorch_GAN_zoo's parameter names, map them.

A checkpoint's layout is recognised by its names alone (every name must fit one layout); the ModelZoo layout is
also written (``modelzoo_names``), so its own ``eval.py`` / ``export.py`` can load what pgan_ref trains.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import CheckpointError

if TYPE_CHECKING:  # MindSpore is imported only by the loaders that build networks
    from .networks import Discriminator, Generator

PGAN_REF, MODELZOO, PYTORCH_GAN_ZOO = "pgan_ref", "ModelZoo", "pytorch_GAN_zoo"
# Whether the generator of a layout applies LeakyReLU to its newest toRGB output (ModelZoo deviation D4);
# pgan_ref's own checkpoints do not say (the config decides).
LRELU_TORGB = {MODELZOO: True, PYTORCH_GAN_ZOO: False}

# The ModelZoo layout (mindspore-ai/models research/cv/PGAN, src/network_{G,D}.py) as ONE table: per network, the
# layers of the 4x4 core and of every grown scale s >= 1 (pgan_ref block b = s - 1), in the ModelZoo's own order,
# each stored as ``<layer>.module.weight|bias``. Around it (``_modelzoo_path``): every scale below the newest sits
# under one more ``last_Gnet.`` / ``last_Dnet.`` (the core innermost); G and D saved from inside their train cells
# carry ``netG.`` / ``netD.``; a net saved on its own (the averaged G) names the previous scale's toRGB / fromRGB by
# the newest scale's alias ``last_toRGBLayers`` / ``last_fromRGBLayers``.
MODELZOO_TABLE = {
    "G": {"core": (("formatLayer", "format"), ("groupScale0", "scale0"), ("toRGBLayers", "to_rgb.0")),
          "grown": (("groupScale0", "blocks.{b}.conv0"), ("groupScale1", "blocks.{b}.conv1"),
                    ("toRGBLayers", "to_rgb.{s}"))},
    "D": {"core": (("fromRGBLayers", "from_rgb.0"), ("groupScale0", "scale0_conv"), ("groupScale1", "scale0_dense"),
                   ("decisionLayer", "decision")),
          "grown": (("fromRGBLayers", "from_rgb.{s}"), ("groupScale0", "blocks.{b}.conv0"),
                    ("groupScale1", "blocks.{b}.conv1"))},
}
_MZ_NEST = {"G": "last_Gnet.", "D": "last_Dnet."}
_MZ_CELL = {"G": "netG.", "D": "netD."}
_MZ_ALIAS = {"G": ("last_toRGBLayers", "toRGBLayers"), "D": ("last_fromRGBLayers", "fromRGBLayers")}
_MZ_NAME = re.compile(r"(netG\.|netD\.)?((?:last_Gnet\.|last_Dnet\.)*)(\w+)\.module\.(weight|bias)")

# pytorch_GAN_zoo name (without the .module.weight/.bias suffix) -> pgan_ref name, per network.
_G_RULES = [(r"formatLayer", "format"), (r"groupScale0\.0", "scale0"),
            (r"scaleLayers\.(\d+)\.(\d)", r"blocks.\1.conv\2"), (r"toRGBLayers\.(\d+)", r"to_rgb.\1")]
_D_RULES = [(r"fromRGBLayers\.(\d+)", r"from_rgb.\1"), (r"scaleLayers\.(\d+)\.(\d)", r"blocks.\1.conv\2"),
            (r"groupScaleZero\.0", "scale0_conv"), (r"groupScaleZero\.1", "scale0_dense"),
            (r"decisionLayer", "decision")]
_PGAN_REF_NAME = re.compile(r"(format|scale0|scale0_conv|scale0_dense|decision|to_rgb\.\d+|from_rgb\.\d+"
                            r"|blocks\.\d+\.conv[01])\.(weight|bias)")
ACCEPTED = (f"{PGAN_REF} (format.weight, to_rgb.N.*, blocks.N.conv0.*, from_rgb.N.*, decision.*), "
            f"{MODELZOO} research/cv/PGAN (formatLayer.module.weight, last_Gnet.*, toRGBLayers.module.*, "
            f"last_Dnet.*, decisionLayer.module.*; optional netG./netD.), "
            f"{PYTORCH_GAN_ZOO} (formatLayer.module.weight, groupScale0.0.*, scaleLayers.N.M.*, toRGBLayers.N.*)")


def _modelzoo_path(kind: str, s: int, n: int, layer: str, *, wrapped: bool) -> str:
    """Return the ModelZoo name (without ``.module.weight``) of ``layer`` of scale ``s`` in an ``n``-scale net."""
    alias, aliased = _MZ_ALIAS[kind]
    if not wrapped and layer == aliased and s == n - 2:
        return alias
    return (_MZ_CELL[kind] if wrapped else "") + _MZ_NEST[kind] * (n - 1 - s) + layer


def _table_row(kind: str, s: int, layer: str) -> str | None:
    rows = dict(MODELZOO_TABLE[kind]["core" if s == 0 else "grown"])
    return rows[layer].format(s=s, b=s - 1) if layer in rows else None


def modelzoo_names(kind: str, n_scales: int, *, wrapped: bool) -> list[tuple[str, str]]:
    """Return ``[(ModelZoo name, pgan_ref name)]`` of an ``n_scales`` G or D (``kind``), in the ModelZoo's order.

    ``wrapped`` gives the names of a net saved from inside the ModelZoo's train cells (its ``G_``/``D_`` files),
    otherwise those of a net saved on its own (its ``AvG_`` files).
    """
    def scale(s: int) -> list[tuple[str, str]]:
        rows = MODELZOO_TABLE[kind]["core" if s == 0 else "grown"]
        own = [(_modelzoo_path(kind, s, n_scales, layer, wrapped=wrapped), _table_row(kind, s, layer))
               for layer, _ in rows]
        if s == 0:
            return own
        if kind == "G":  # GNetNext: last_Gnet, then groupScale0/1, toRGBLayers
            return scale(s - 1) + own
        return own[:1] + scale(s - 1) + own[1:]  # DNetNext: fromRGBLayers, last_Dnet, then groupScale0/1

    return [(f"{mz}.module.{wb}", f"{ours}.{wb}") for mz, ours in scale(n_scales - 1) for wb in ("weight", "bias")]


def _modelzoo_renames(names) -> dict[str, str] | None:
    parsed = {}
    for name in names:
        m = _MZ_NAME.fullmatch(name)
        if not m:
            return None
        parsed[name] = m.groups()
    layers = {g[2] for g in parsed.values()}
    kind = "G" if "formatLayer" in layers else "D" if "decisionLayer" in layers else None
    if kind is None:
        return None
    nest = _MZ_NEST[kind]
    core = [len(g[1]) // len(nest) for g in parsed.values() if g[2] in ("formatLayer", "decisionLayer")]
    n = 1 + max(core)
    out = {}
    for name, (cell, path, layer, wb) in parsed.items():
        if cell not in (None, _MZ_CELL[kind]) or path != nest * (len(path) // len(nest)):
            return None
        s = n - 1 - len(path) // len(nest)
        if layer == _MZ_ALIAS[kind][0]:
            layer, s = _MZ_ALIAS[kind][1], s - 1
        ours = _table_row(kind, s, layer) if s >= 0 else None
        if ours is None:
            return None
        out[name] = f"{ours}.{wb}"
    return out


def _rename(name: str, rules) -> str | None:
    m = re.fullmatch(r"(.+)\.module\.(weight|bias)", name)
    if not m:
        return None
    for pattern, repl in rules:
        if re.fullmatch(pattern, m.group(1)):
            return re.sub(pattern, repl, m.group(1)) + "." + m.group(2)
    return None


def _pytorch_renames(names) -> dict[str, str] | None:
    for rules in (_G_RULES, _D_RULES):
        out = {name: _rename(name, rules) for name in names}
        if None not in out.values():
            return out
    return None


def recognise(names, source: str | Path = "checkpoint") -> tuple[str, dict[str, str]]:
    """Return (layout, ``{name: pgan_ref name}``) of a network's parameter names, or raise CheckpointError.

    The error is one line naming what was found and the layouts accepted.
    """
    names = list(names)
    if names and all(_PGAN_REF_NAME.fullmatch(n) for n in names):
        return PGAN_REF, {n: n for n in names}
    for layout, renames in ((MODELZOO, _modelzoo_renames), (PYTORCH_GAN_ZOO, _pytorch_renames)):
        mapping = renames(names) if names else None
        if mapping is not None and len(set(mapping.values())) == len(mapping):
            return layout, mapping
    sample = ", ".join(sorted(names)[:3]) or "no parameters"
    raise CheckpointError(f"{source}: its {len(names)} parameter names ({sample}, ...) fit no accepted network "
                          f"layout; accepted: {ACCEPTED} (a G_, AvG_ or D_ checkpoint, not a state_ file)")


def to_pgan_ref(state: dict, source: str | Path = "checkpoint") -> tuple[str, dict]:
    """Return (layout, ``state`` keyed by pgan_ref names) for a network's ``{name: tensor}``."""
    layout, mapping = recognise(state, source)
    return layout, {mapping[k]: v for k, v in state.items()}


def _subdict(npz, prefix: str) -> dict[str, np.ndarray]:
    return {k[len(prefix):]: npz[k] for k in npz.files if k.startswith(prefix)}


def _n_scales(state: dict, key: str) -> int:
    return len({m.group(1) for k in state if (m := re.match(rf"{key}\.(\d+)\.", k))})


def generator_from_state(state: dict[str, np.ndarray]) -> Generator:
    """Return a Generator shaped like a pytorch_GAN_zoo GNet state dict and loaded with its tensors."""
    from .networks import Generator

    latent = state["formatLayer.module.weight"].shape[1]
    depths = [state["groupScale0.0.module.weight"].shape[0]]
    depths += [state[f"scaleLayers.{s}.0.module.weight"].shape[0] for s in range(_n_scales(state, "scaleLayers"))]
    g = Generator(latent, depths)
    _load(g, state)
    return g


def discriminator_from_state(state: dict[str, np.ndarray]) -> Discriminator:
    """Return a Discriminator shaped like a pytorch_GAN_zoo DNet state dict and loaded with its tensors."""
    from .networks import Discriminator

    d0 = state["groupScaleZero.0.module.weight"].shape[0]
    mbstd = state["groupScaleZero.0.module.weight"].shape[1] == d0 + 1
    depths = [d0] + [state[f"scaleLayers.{s}.0.module.weight"].shape[0]
                     for s in range(_n_scales(state, "scaleLayers"))]
    d = Discriminator(depths, minibatch_std=mbstd)
    _load(d, state)
    return d


def _load(cell, state: dict) -> None:
    from mindspore import Tensor

    from .networks import local_params

    params = local_params(cell)
    missing = set(params)
    for ours, value in to_pgan_ref(state)[1].items():
        if ours not in params:
            continue
        if tuple(params[ours].shape) != value.shape:
            raise ValueError(f"{ours}: shape {value.shape} does not fit {tuple(params[ours].shape)}")
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
