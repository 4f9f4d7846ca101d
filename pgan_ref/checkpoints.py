"""Checkpoints in the ModelZoo layout ``{dir}/{scale}/{G,AvG,D}_{i}.ckpt``, written atomically, plus resume state.

Parameter names are stored without the ``G.``/``D.``/``AvG.`` prefixes used inside the training graph,
so a checkpoint loads into any network of the same shape. The resume state (optimizer moments and
step counters in ``state_{i}.ckpt``, RNG state in ``state_{i}.json``) is written last: its JSON is
the marker that a checkpoint set is complete.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import mindspore as ms
from mindspore import Tensor, nn

from .fileio import write_text_atomic
from .networks import local_params
from .train_step import optimizer_state

NETS = ("G", "AvG", "D")


def scale_dir(ckpt_dir: str | Path, scale: int, rank: int = 0) -> Path:
    """Return the folder of one scale's checkpoints (ranks > 0 under ``rank_{id}/``, like the ModelZoo)."""
    d = Path(ckpt_dir) / str(scale)
    return d / f"rank_{rank}" if rank else d


def _atomic_save(entries: list[dict], path: Path) -> None:
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")  # must end in .ckpt or MindSpore renames it
    ms.save_checkpoint(entries, str(tmp))
    os.replace(tmp, path)


def save_net(cell: nn.Cell, path: Path) -> None:
    """Save ``cell``'s parameters under their local names, atomically."""
    _atomic_save([{"name": n, "data": p.value()} for n, p in local_params(cell).items()], path)


def load_net(cell: nn.Cell, path: str | Path, *, strict: bool = True) -> None:
    """Load a checkpoint saved by ``save_net`` (or with matching names) into ``cell`` before compiling."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    data = ms.load_checkpoint(str(path))
    params = local_params(cell)
    missing = [n for n in params if n not in data]
    if strict and missing:
        raise ValueError(f"{path} lacks {len(missing)} parameters of this network (e.g. {missing[:3]}): "
                         f"was it saved at another scale or depth? pass the matching --scale")
    for name, p in params.items():
        if name in data:
            if tuple(data[name].shape) != tuple(p.shape):
                raise ValueError(f"{path}: {name} has shape {tuple(data[name].shape)}, network expects "
                                 f"{tuple(p.shape)}: check latent size and depths")
            p.set_data(Tensor(data[name].asnumpy()))


def save_set(folder: Path, i: int, nets: dict[str, nn.Cell], optimizers: list[nn.Cell], state: dict) -> None:
    """Save G/AvG/D as ``{name}_{i}.ckpt``, then optimizer state, then the JSON marker, all atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in NETS:
        save_net(nets[name], folder / f"{name}_{i}.ckpt")
    _atomic_save([{"name": p.name, "data": p.value()} for opt in optimizers for p in optimizer_state(opt)],
                 folder / f"state_{i}.ckpt")
    write_text_atomic(folder / f"state_{i}.json", json.dumps(state))


def load_optimizer_state(optimizers: list[nn.Cell], path: Path) -> None:
    """Restore optimizer moments and counters saved by ``save_set``."""
    data = ms.load_checkpoint(str(path))
    for opt in optimizers:
        for p in opt.get_parameters():
            if p.name in data:
                p.set_data(Tensor(data[p.name].asnumpy()))


def latest_state(ckpt_dir: str | Path, scales: list[int], rank: int = 0) -> tuple[Path, dict] | None:
    """Return (folder, state) of the most advanced complete checkpoint set, or None."""
    best = None
    for s_idx, scale in enumerate(scales):
        folder = scale_dir(ckpt_dir, scale, rank)
        for marker in folder.glob("state_*.json"):
            try:
                state = json.loads(marker.read_text())
            except (OSError, json.JSONDecodeError):
                continue
            key = (s_idx, state["i"])
            if best is None or key > best[0]:
                best = (key, folder, state)
    return None if best is None else (best[1], best[2])
