"""The quality protocol manifest, its sha256, comparing results under it, and the cache of real-set features.

Manifest v2 names the protocol only: extractor and weights sha256, preprocessing, n real / n fake, the real set's
content hash (and the statistics file's sha256 when real statistics were loaded), seeds, how samples were drawn,
and every metric constant. Where the data lives and the generated images' hash are provenance, kept beside the
manifest (``result["provenance"]``), so two machines running one protocol get one manifest sha256.
Old records: v1 manifests carried paths and the generated images' hash; they compare only with v1 manifests
(ignoring those fields, as v1 did) and never with v2 ones; reports flag them ``manifest-v1``.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from pgan_ref.fileio import save_npz_atomic

from harness.cache import cache_dir
from harness.quality import constants
from harness.quality.fid.inputs import ImageSource

PROTOCOL_VERSION = 2
FEATURE_DIM = 2048  # the width of the pool3 features, hence of saved statistics' mu and sigma
EXTRACTOR = (f"inception-2015-12-05 pool3 {FEATURE_DIM}-d (TF graph; MindSpore port, float32 features, "
             "float64 statistics)")
# The distance constants of FID and KID (the quality metrics add theirs from ``harness.quality.constants``).
FID_CONSTANTS = {"fid": {"covariance": "N-1", "dtype": "float64", "sqrt": "eigh of S1^1/2 S2 S1^1/2"},
                 "kid": {"kernel": "(x.y/d+1)^3", "estimator": "unbiased MMD^2 over seeded subsets"}}
# v1 fields that are not protocol: the generated set, where data lived, and how many KID subsets / bootstrap
# rounds (KID is unbiased: subsets change its variance, not what it estimates). v2 keeps them in provenance.
NON_PROTOCOL_FIELDS = ("fake_fingerprint", "fake_source", "real_source", "kid_subsets", "kid_subset_size",
                       "bootstrap_rounds", "fid_inf_ns")


class ManifestMismatch(ValueError):
    """Two FID results were computed under different protocols and must not be compared."""


def make_manifest(*, weights_sha256: str, preprocess: str, n_real: int | None, n_fake: int | None,
                  real_fingerprint: str | None, seed: int, real_stats_sha256: str | None = None,
                  sampling: dict | None = None) -> dict:
    """Return the protocol manifest (v2) that goes with every quality number: protocol fields only, no paths.

    ``weights_sha256`` None means no Inception features were used (SWD / MS-SSIM only): no extractor is named.
    """
    manifest = {"protocol_version": PROTOCOL_VERSION, "extractor": EXTRACTOR if weights_sha256 else None,
                "weights_sha256": weights_sha256,
                "preprocess": preprocess, "n_real": None if n_real is None else int(n_real),
                "n_fake": None if n_fake is None else int(n_fake), "real_fingerprint": real_fingerprint,
                "seed": int(seed), "constants": {**FID_CONSTANTS, **constants()}}
    if real_stats_sha256:
        manifest["real_stats_sha256"] = real_stats_sha256
    if sampling:
        manifest["sampling"] = sampling
    return manifest


def manifest_sha256(manifest: dict) -> str:
    """Return the sha256 of a manifest's canonical JSON (sorted keys): equal protocols, equal hashes."""
    return hashlib.sha256(json.dumps(manifest, sort_keys=True, default=str).encode()).hexdigest()


def manifest_differences(a: dict, b: dict) -> dict[str, tuple]:
    """Return ``{field: (value in a, value in b)}`` for the protocol fields where two manifests differ."""
    keys = (set(a) | set(b)) - set(NON_PROTOCOL_FIELDS)
    return {k: (a.get(k), b.get(k)) for k in sorted(keys) if a.get(k) != b.get(k)}


def compare_results(a: dict, b: dict, metric: str = "fid") -> float:
    """Return ``b[metric] - a[metric]``; raise ``ManifestMismatch`` naming every differing protocol field."""
    diff = manifest_differences(a["manifest"], b["manifest"])
    if diff:
        lines = "; ".join(f"{k}: {va!r} vs {vb!r}" for k, (va, vb) in diff.items())
        old = " (protocol v1 manifests compare only with v1 ones)" if "protocol_version" in diff else ""
        raise ManifestMismatch(f"refusing to compare {metric} values computed under different protocols ({lines})"
                               f"{old}. FID depends on the extractor, preprocessing, N and the real set: recompute "
                               "both under one protocol.")
    return float(b[metric] - a[metric])


def real_cache_path(fingerprint: str, weights_sha256: str, preprocess: str) -> Path:
    """Return where the real features for this image set and protocol are cached."""
    key = json.dumps({"v": PROTOCOL_VERSION, "real": fingerprint, "weights": weights_sha256, "pre": preprocess},
                     sort_keys=True)
    return cache_dir() / "fid-real" / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.npz"


def real_features(source: ImageSource, extractor, preprocess: str, batch_size: int = 32,
                  use_cache: bool = True, progress: bool = True) -> np.ndarray:
    """Return the real set's features, from the cache when this set (fingerprint, count) and protocol were seen.

    ``extractor`` is a ``harness.quality.fid.features.FeatureExtractor`` (not imported here: this module, which reports
    import for the manifest hash, stays free of MindSpore).
    """
    fingerprint = source.fingerprint() if use_cache else None
    path = fingerprint and real_cache_path(fingerprint, extractor.weights_sha256, preprocess)
    if path and path.is_file():
        with np.load(path) as z:
            return z["features"]
    feats = extractor.extract(source, preprocess, batch_size, progress)
    if path:
        save_npz_atomic(path, features=feats)
    return feats
