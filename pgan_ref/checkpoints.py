"""Checkpoints in the ModelZoo layout ``{dir}/{scale}/{G,AvG,D}_{i}.ckpt``, written atomically, plus resume state.

Parameter names are stored without the ``G.``/``D.``/``AvG.`` prefixes used inside the training graph,
so a checkpoint loads into any network of the same shape; with ``names="modelzoo"`` they are stored under the
ModelZoo's own names instead (``interop.modelzoo_names``). Networks are read in any layout ``interop``
recognises. The resume state (optimizer moments and step counters in ``state_{i}.ckpt``, RNG state in
``state_{i}.json``) is written last: its JSON is the marker that a checkpoint set is complete. Every file
carries MindSpore's CRC-32 (``crc_check=True``), verified on load; files saved without one still load.
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import mindspore as ms
from mindspore import Tensor, nn

from .errors import CheckpointError
from .fileio import replaced_atomically, write_text_atomic
from .interop import modelzoo_names, to_pgan_ref
from .interrupt import deferred_interrupts
from .networks import local_params
from .train_step import optimizer_state

NETS = ("G", "AvG", "D")


def scale_dir(ckpt_dir: str | Path, scale: int, rank: int = 0) -> Path:
    """Return the folder of one scale's checkpoints (ranks > 0 under ``rank_{id}/``, like the ModelZoo)."""
    d = Path(ckpt_dir) / str(scale)
    return d / f"rank_{rank}" if rank else d


def _atomic_save(entries: list[dict], path: Path) -> None:
    with replaced_atomically(path) as tmp:  # tmp ends in .ckpt, or MindSpore would rename it
        ms.save_checkpoint(entries, str(tmp), crc_check=True)  # CRC-32 of the content, checked by read_checkpoint


def save_net(cell: nn.Cell, path: Path, *, names: str = "pgan_ref", role: str = "G") -> None:
    """Save ``cell``'s parameters atomically under their local names, or the ModelZoo's (``names="modelzoo"``).

    ``role`` (G, AvG or D) chooses the ModelZoo's names for that file: its G_ and D_ files hold the nets as
    named inside its train cells, its AvG_ files the averaged G as named on its own.
    """
    params = local_params(cell)
    if names == "modelzoo":
        pairs = modelzoo_names("D" if role == "D" else "G", len(cell.depths), wrapped=role != "AvG")
    else:
        pairs = [(n, n) for n in params]
    _atomic_save([{"name": theirs, "data": params[ours].value()} for theirs, ours in pairs], path)


def read_checkpoint(path: str | Path) -> dict:
    """Return ``{name: Parameter}`` of a checkpoint, or raise CheckpointError naming the file when it is unusable.

    Files saved with a CRC (``save_net``/``save_set``) are verified against it; older files without one load as before.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    if not os.access(path, os.R_OK):
        raise CheckpointError(f"checkpoint {path} is not readable (permissions)")
    logging.disable(logging.CRITICAL)  # MindSpore logs its own (misleading) lines about a damaged file
    try:
        return ms.load_checkpoint(str(path), crc_check=True)
    except (RuntimeError, ValueError, TypeError) as e:
        raise CheckpointError(f"checkpoint {path} is damaged or truncated (its CRC does not match or its content "
                              f"cannot be parsed): restore it from a copy or delete it") from e
    finally:
        logging.disable(logging.NOTSET)


def apply_params(cell: nn.Cell, data: dict, source: str | Path, *, strict: bool = True) -> None:
    """Copy checkpoint tensors ``data`` (read from ``source``) into ``cell`` by local name, shapes checked."""
    params = local_params(cell)
    missing = [n for n in params if n not in data]
    if strict and missing:
        raise CheckpointError(f"{source} lacks {len(missing)} parameters of this network (e.g. {missing[:3]}): "
                              f"was it saved at another scale or depth? pass the matching --scale")
    for name, p in params.items():
        if name in data:
            if tuple(data[name].shape) != tuple(p.shape):
                raise CheckpointError(f"{source}: {name} has shape {tuple(data[name].shape)}, network expects "
                                      f"{tuple(p.shape)}: check latent size and depths")
            p.set_data(Tensor(data[name].asnumpy()))


def read_net(path: str | Path) -> tuple[str, dict]:
    """Return (layout, ``{pgan_ref name: Parameter}``) of a G, AvG or D checkpoint in any layout ``interop`` accepts."""
    return to_pgan_ref(read_checkpoint(path), path)


def load_net(cell: nn.Cell, path: str | Path, *, strict: bool = True) -> None:
    """Load a network checkpoint (pgan_ref's or a recognised foreign layout) into ``cell`` before compiling."""
    apply_params(cell, read_net(path)[1], path, strict=strict)


def save_set(folder: Path, i: int, nets: dict[str, nn.Cell], optimizers: list[nn.Cell], state: dict, *,
             names: str = "pgan_ref") -> None:
    """Save G/AvG/D as ``{name}_{i}.ckpt`` (parameter ``names`` as in ``save_net``), then optimizer state, then the
    JSON marker, all atomically.

    Ctrl-C or SIGTERM during the save takes effect once the set is complete.
    """
    folder.mkdir(parents=True, exist_ok=True)
    with deferred_interrupts():
        for name in NETS:
            save_net(nets[name], folder / f"{name}_{i}.ckpt", names=names, role=name)
        _atomic_save([{"name": p.name, "data": p.value()} for opt in optimizers for p in optimizer_state(opt)],
                     folder / f"state_{i}.ckpt")
        write_text_atomic(folder / f"state_{i}.json", json.dumps(state))


def load_optimizer_state(optimizers: list[nn.Cell], data: dict) -> None:
    """Restore optimizer moments and counters from the tensors of a ``state_{i}.ckpt`` saved by ``save_set``."""
    for opt in optimizers:
        for p in opt.get_parameters():
            if p.name in data:
                p.set_data(Tensor(data[p.name].asnumpy()))


def read_marker(marker: Path, scale_index: int) -> dict:
    """Return the resume state of a ``state_{i}.json`` marker, or raise CheckpointError when it is malformed."""
    try:
        state = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"state marker {marker} is unreadable ({e})") from None
    keys = {"i": int, "scale_index": int, "rng": dict, "config_hash": str}
    if not isinstance(state, dict) or any(not isinstance(state.get(k), t) for k, t in keys.items()) \
            or marker.name != f"state_{state['i']}.json" or state["scale_index"] != scale_index:
        raise CheckpointError(f"state marker {marker} is malformed: expected a JSON object with "
                              f"{', '.join(keys)} matching its file name and scale folder")
    return state


def checkpoint_sets(ckpt_dir: str | Path, scales: list[int], rank: int = 0) -> list[tuple[Path, Path, int]]:
    """Return (folder, marker, scale index) of every checkpoint set's marker, the most advanced first."""
    found = []
    for s_idx, scale in enumerate(scales):
        for marker in scale_dir(ckpt_dir, scale, rank).glob("state_*.json"):
            step = marker.stem.removeprefix("state_")
            found.append(((s_idx, int(step) if step.isdigit() else -1), marker.parent, marker, s_idx))
    return [(folder, marker, s_idx) for _, folder, marker, s_idx in sorted(found, reverse=True)]


def read_set(folder: Path, i: int) -> dict[str, dict]:
    """Return the tensors of set ``i`` in ``folder``: ``{"G", "AvG", "D", "state": {name: Parameter}}``.

    The networks' tensors are keyed by pgan_ref names whichever layout they were saved in.
    """
    out = {name: read_net(folder / f"{name}_{i}.ckpt")[1] for name in NETS}
    return {**out, "state": read_checkpoint(folder / f"state_{i}.ckpt")}
