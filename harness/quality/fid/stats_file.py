"""Saved real-set statistics in pytorch-fid's .npz layout (``mu``, ``sigma``) plus the protocol fields that made them.

pytorch-fid reads only ``mu`` and ``sigma``, so files written here work with ``pytorch-fid --save-stats`` users'
tools, and theirs work here (with the protocol fields unknown: ``n``, preprocessing and weights are not checked).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pgan_ref.fileio import save_npz_atomic, sha256_file
from harness.quality.fid.inputs import ARRAY_FILE_ERRORS, IMAGES_IN_NPZ, InputError, images_key
from harness.quality.fid.protocol import FEATURE_DIM

META_KEYS = ("n", "preprocess", "weights_sha256", "real_fingerprint")
STATS_KEYS = ("mu", "sigma")
LAYOUT = f"pytorch-fid's layout: 'mu' ({FEATURE_DIM},) and 'sigma' ({FEATURE_DIM}, {FEATURE_DIM}), finite numbers"


@dataclass(frozen=True)
class RealStats:
    """Mean and covariance of a real set's features, the file's sha256 and the protocol fields it records."""

    mu: np.ndarray
    sigma: np.ndarray
    sha256: str
    path: Path
    n: int | None = None
    preprocess: str | None = None
    weights_sha256: str | None = None
    real_fingerprint: str | None = None

    def check(self, weights_sha256: str, preprocess: str) -> None:
        """Raise InputError when the file records other weights or preprocessing than this computation uses."""
        for key, want in (("preprocess", preprocess), ("weights_sha256", weights_sha256)):
            have = getattr(self, key)
            if have is not None and have != want:
                raise InputError(f"statistics file {self.path} was computed with {key} {have!r}, not {want!r}: "
                                 f"recompute it with --save-stats under this protocol")


def npz_arrays(obj) -> list[str] | None:
    """Return the array names of ``obj`` when it is a path to an .npz file (None for anything else); raise
    InputError naming the file when it cannot be read (truncated, damaged)."""
    if not isinstance(obj, (str, Path)) or Path(obj).suffix != ".npz" or not Path(obj).is_file():
        return None
    try:
        with np.load(obj, allow_pickle=False) as z:
            return list(z.files)
    except ARRAY_FILE_ERRORS as e:
        raise InputError(f"cannot read {obj}: {e} (truncated or damaged?); expected {IMAGES_IN_NPZ}, or saved "
                         f"statistics in {LAYOUT}") from None


def is_stats_file(obj) -> bool:
    """Return True when ``obj`` is an .npz file to read as statistics: it holds ``mu`` or ``sigma``, or no images."""
    names = npz_arrays(obj)
    return names is not None and (bool(set(STATS_KEYS) & set(names)) or images_key(names) is None)


def not_images(obj, option: str) -> None:
    """Raise InputError when ``obj``, given as ``option`` for images, is an .npz file of statistics."""
    if is_stats_file(obj):
        raise InputError(f"{option} {obj} holds arrays {npz_arrays(obj)}, not images: expected a folder of images "
                         f"or a .npy/.npz holding {IMAGES_IN_NPZ} (statistics are accepted as --real only)")


def _stats_problem(names: list[str], arrays: dict[str, np.ndarray]) -> str | None:
    """Return what keeps ``arrays`` (read from a file holding ``names``) from being FID statistics, else None."""
    if len(arrays) < len(STATS_KEYS):
        return f"holds arrays {names}, not both 'mu' and 'sigma'"
    for key, a in arrays.items():
        if not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
            return f"'{key}' holds {a.dtype} values, not real numbers"
    mu, sigma = arrays["mu"], arrays["sigma"]
    if mu.shape != (FEATURE_DIM,) or sigma.shape != (FEATURE_DIM, FEATURE_DIM):
        return f"'mu' has shape {mu.shape} and 'sigma' {sigma.shape}"
    bad = {key: int((~np.isfinite(a)).sum()) for key, a in arrays.items()}
    if any(bad.values()):
        return "holds " + " and ".join(f"{n} NaN/inf values in '{key}'" for key, n in bad.items() if n)
    return None


def load_stats(path: str | Path) -> RealStats:
    """Return the statistics saved in ``path`` (pytorch-fid's layout, with or without our protocol fields); raise
    InputError naming the file, what it holds and the layout accepted when it is not such a file."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            names = list(z.files)
            arrays = {k: z[k] for k in STATS_KEYS if k in names}
            meta = {k: z[k].item() for k in META_KEYS if k in names}
    except ARRAY_FILE_ERRORS as e:
        raise InputError(f"cannot read statistics file {path}: {e}; expected {LAYOUT}") from None
    problem = _stats_problem(names, arrays)
    if problem:
        raise InputError(f"statistics file {path}: {problem}; expected {LAYOUT}")
    if "n" in meta:
        meta["n"] = int(meta["n"])
    return RealStats(arrays["mu"].astype(np.float64), arrays["sigma"].astype(np.float64), sha256_file(path), path,
                     **meta)


def stats_path(path: str | Path) -> Path:
    """Return ``path`` as the place for a statistics file, or raise InputError unless it ends in .npz."""
    if Path(path).suffix != ".npz":
        raise InputError(f"--save-stats {path}: the statistics file must end in .npz")
    return Path(path)


def save_stats(path: str | Path, mu: np.ndarray, sigma: np.ndarray, **meta) -> str:
    """Write ``mu``, ``sigma`` and the protocol fields in ``META_KEYS`` atomically to ``path``; return its sha256."""
    path = stats_path(path)
    extra = {k: np.array(meta[k]) for k in META_KEYS if meta.get(k) is not None}
    save_npz_atomic(path, mu=np.asarray(mu, np.float64), sigma=np.asarray(sigma, np.float64), **extra)
    return sha256_file(path)
