"""Evaluate any subset of FID, KID, SWD, MS-SSIM and P/R/D/C on one real and one generated uint8 image set."""
from __future__ import annotations

import numpy as np

from harness.quality.ms_ssim import ms_ssim
from harness.quality.swd import MIN_RESOLUTION, multiscale_swd

METRICS = ("fid", "kid", "swd", "ms_ssim", "prdc")
INCEPTION_METRICS = frozenset({"fid", "kid", "prdc"})  # computed on the FID Inception's features
PYRAMID_METRICS = frozenset({"swd", "ms_ssim"})  # need images of at least 16 px
KID_SUBSETS, KID_SUBSET_SIZE = 20, 100


def parse_metrics(text: str) -> tuple[str, ...]:
    """Return the metric names of a comma-separated list, or raise ValueError naming what is accepted."""
    chosen = tuple(dict.fromkeys(m.strip().lower().replace("-", "_") for m in str(text).split(",") if m.strip()))
    unknown = [m for m in chosen if m not in METRICS]
    if unknown or not chosen:
        raise ValueError(f"metrics={text!r}: choose a comma-separated subset of {','.join(METRICS)}")
    return chosen


def applicable(metrics: tuple[str, ...], resolution: int) -> tuple[str, ...]:
    """Return the metrics that apply at ``resolution`` px (SWD and MS-SSIM need at least 16 px)."""
    return tuple(m for m in metrics if resolution >= MIN_RESOLUTION or m not in PYRAMID_METRICS)


def pairs_ms_ssim(images: np.ndarray) -> tuple[float, int]:
    """Return the mean MS-SSIM over consecutive pairs (0-1, 2-3, ...) of a uint8 NHWC set and the pair count."""
    pairs = len(images) // 2
    if pairs < 1:
        raise ValueError("MS-SSIM needs at least 2 images")
    return ms_ssim(images[0:2 * pairs:2], images[1:2 * pairs:2]), pairs


def evaluate(real: np.ndarray, fake: np.ndarray, metrics: tuple[str, ...], *, seed: int = 0,
             preprocess: str = "pytorch-fid", sampling: dict | None = None, weights=None) -> dict:
    """Return ``{"manifest", "manifest_sha256", "provenance", metric values...}`` for uint8 NHWC sets.

    Keys: ``fid``; ``kid``, ``kid_std``; ``swd`` ({resolution: x1e3, "avg"}; on the first min(n_real, n_fake)
    images of each set); ``ms_ssim_fake`` / ``ms_ssim_real`` with ``ms_ssim_pairs`` / ``ms_ssim_real_pairs`` (consecutive pairs within
    each set); ``prdc`` (k = 3). Inception metrics share one feature pass (``harness.quality.fid.compute_fid``).
    """
    from harness.quality.fid.compute import compute_fid
    from harness.quality.fid.inputs import ArraySource
    from harness.quality.fid.protocol import make_manifest, manifest_sha256

    out: dict = {}
    if INCEPTION_METRICS & set(metrics):
        r = compute_fid(real, fake, preprocess=preprocess, seed=seed, kid_subsets=KID_SUBSETS * ("kid" in metrics),
                        kid_subset_size=min(KID_SUBSET_SIZE, len(real), len(fake)), prdc="prdc" in metrics,
                        sampling=sampling, weights=weights, progress=False)
        out.update({k: r[k] for k in ("fid", "kid", "kid_std", "prdc", "manifest", "provenance") if k in r})
    else:
        out["manifest"] = make_manifest(weights_sha256=None, preprocess=None, n_real=len(real), n_fake=len(fake),
                                        real_fingerprint=ArraySource(real).fingerprint(), seed=seed,
                                        sampling=sampling)
        out["provenance"] = {"fake_fingerprint": ArraySource(fake).fingerprint()}
    out["manifest_sha256"] = manifest_sha256(out["manifest"])
    if "swd" in metrics:
        m = min(len(real), len(fake))
        out["swd"] = multiscale_swd(real[:m].transpose(0, 3, 1, 2), fake[:m].transpose(0, 3, 1, 2), seed=seed)
    if "ms_ssim" in metrics:
        out["ms_ssim_fake"], out["ms_ssim_pairs"] = pairs_ms_ssim(fake)
        out["ms_ssim_real"], out["ms_ssim_real_pairs"] = pairs_ms_ssim(real)
    return out
