"""The harness cache folder (``$PGAN_HARNESS_CACHE`` or ``~/.cache/pgan-harness``): weights, real-set features, data."""
from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "PGAN_HARNESS_CACHE"


def cache_dir() -> Path:
    """Return the harness cache directory (``$PGAN_HARNESS_CACHE`` or ``~/.cache/pgan-harness``)."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "pgan-harness")
