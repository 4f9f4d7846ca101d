"""The harness cache directory, file hashing and atomic ``.npz`` writes."""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np

CACHE_ENV = "PGAN_HARNESS_CACHE"


def cache_dir() -> Path:
    """Return the harness cache directory (``$PGAN_HARNESS_CACHE`` or ``~/.cache/pgan-harness``)."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "pgan-harness")


def sha256_file(path: str | Path) -> str:
    """Return the hex sha256 of a file's contents."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def save_npz_atomic(path: Path, **arrays) -> None:
    """Write arrays to ``path`` as .npz through a temporary file and a rename, so readers never see a torn file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
