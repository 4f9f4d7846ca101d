"""The FID protocol manifest, comparing results under it, and the cache of real-set features."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from .cache import cache_dir, save_npz_atomic
from .features import FeatureExtractor
from .inputs import ImageSource

PROTOCOL_VERSION = 1
EXTRACTOR = "inception-2015-12-05 pool3 2048-d (TF graph; MindSpore port, float32 features, float64 statistics)"
# Fields that may differ between two comparable results: the generated set and what was computed from it.
# KID is unbiased, so its subset count and size change its variance, not what it estimates.
NON_PROTOCOL_FIELDS = ("fake_fingerprint", "fake_source", "real_source", "kid_subsets", "kid_subset_size",
                       "bootstrap_rounds", "fid_inf_ns")


class ManifestMismatch(ValueError):
    """Two FID results were computed under different protocols and must not be compared."""


def make_manifest(*, weights_sha256: str, preprocess: str, n_real: int, n_fake: int, real_fingerprint: str | None,
                  seed: int, **extra) -> dict:
    """Return the protocol manifest that goes with every FID/KID number (``extra`` adds fields)."""
    return {"protocol_version": PROTOCOL_VERSION, "extractor": EXTRACTOR, "weights_sha256": weights_sha256,
            "preprocess": preprocess, "n_real": int(n_real), "n_fake": int(n_fake),
            "real_fingerprint": real_fingerprint, "seed": int(seed), **extra}


def manifest_differences(a: dict, b: dict) -> dict[str, tuple]:
    """Return ``{field: (value in a, value in b)}`` for the protocol fields where two manifests differ."""
    keys = (set(a) | set(b)) - set(NON_PROTOCOL_FIELDS)
    return {k: (a.get(k), b.get(k)) for k in sorted(keys) if a.get(k) != b.get(k)}


def compare_results(a: dict, b: dict, metric: str = "fid") -> float:
    """Return ``b[metric] - a[metric]``; raise ``ManifestMismatch`` naming every differing protocol field."""
    diff = manifest_differences(a["manifest"], b["manifest"])
    if diff:
        lines = "; ".join(f"{k}: {va!r} vs {vb!r}" for k, (va, vb) in diff.items())
        raise ManifestMismatch(f"refusing to compare {metric} values computed under different protocols ({lines}). "
                               "FID depends on the extractor, preprocessing, N and the real set: recompute both "
                               "under one protocol.")
    return float(b[metric] - a[metric])


def real_cache_path(fingerprint: str, weights_sha256: str, preprocess: str) -> Path:
    """Return where the real features for this image set and protocol are cached."""
    key = json.dumps({"v": PROTOCOL_VERSION, "real": fingerprint, "weights": weights_sha256, "pre": preprocess},
                     sort_keys=True)
    return cache_dir() / "fid-real" / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.npz"


def real_features(source: ImageSource, extractor: FeatureExtractor, preprocess: str, batch_size: int = 32,
                  use_cache: bool = True, progress: bool = True) -> np.ndarray:
    """Return the real set's features, from the cache when this set (fingerprint, count) and protocol were seen."""
    fingerprint = source.fingerprint() if use_cache else None
    path = fingerprint and real_cache_path(fingerprint, extractor.weights_sha256, preprocess)
    if path and path.is_file():
        with np.load(path) as z:
            return z["features"]
    feats = extractor.extract(source, preprocess, batch_size, progress)
    if path:
        save_npz_atomic(path, features=feats)
    return feats
