"""Saved real-set statistics in pytorch-fid's .npz layout (``mu``, ``sigma``) plus the protocol fields that made them.

pytorch-fid reads only ``mu`` and ``sigma``, so files written here work with ``pytorch-fid --save-stats`` users'
tools, and theirs work here (with the protocol fields unknown: ``n``, preprocessing and weights are not checked).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pgan_ref.fileio import save_npz_atomic, sha256_file
from harness.quality.fid.inputs import InputError

META_KEYS = ("n", "preprocess", "weights_sha256", "real_fingerprint")


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


def is_stats_file(obj) -> bool:
    """Return True when ``obj`` is a path to an .npz file holding ``mu`` and ``sigma``."""
    if not isinstance(obj, (str, Path)) or Path(obj).suffix != ".npz" or not Path(obj).is_file():
        return False
    try:
        with np.load(obj, allow_pickle=False) as z:
            return {"mu", "sigma"} <= set(z.files)
    except (OSError, ValueError):
        return False


def load_stats(path: str | Path) -> RealStats:
    """Return the statistics saved in ``path`` (pytorch-fid's layout, with or without our protocol fields)."""
    path = Path(path)
    with np.load(path, allow_pickle=False) as z:
        mu, sigma = z["mu"].astype(np.float64), z["sigma"].astype(np.float64)
        meta = {k: z[k].item() for k in META_KEYS if k in z.files}
    if mu.ndim != 1 or sigma.shape != (len(mu), len(mu)):
        raise InputError(f"statistics file {path}: mu {mu.shape} and sigma {sigma.shape} are not (d,) and (d, d)")
    if "n" in meta:
        meta["n"] = int(meta["n"])
    return RealStats(mu, sigma, sha256_file(path), path, **meta)


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
