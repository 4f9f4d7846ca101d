"""Precision, recall, density and coverage of generated features against real ones (the ``prdc`` package)."""
from __future__ import annotations

import contextlib
import io

import numpy as np

NEAREST_K = 3  # StyleGAN2-ADA's pr50k3 and Naeem et al.'s default


def precision_recall_density_coverage(real_features: np.ndarray, fake_features: np.ndarray,
                                      k: int = NEAREST_K) -> dict[str, float]:
    """Return ``{"precision", "recall", "density", "coverage"}`` with k-nearest-neighbour manifolds (k = 3).

    Precision and density ask how many fake samples fall inside real k-NN balls, recall how many real samples
    fall inside fake ones, coverage how many real balls hold a fake sample (Kynkaanniemi 2019, Naeem 2020).
    """
    from prdc import compute_prdc

    real, fake = np.asarray(real_features, np.float32), np.asarray(fake_features, np.float32)
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
        raise ValueError(f"P/R/D/C needs two (N, d) feature arrays of one d, got {real.shape} and {fake.shape}")
    if min(len(real), len(fake)) <= k:
        raise ValueError(f"P/R/D/C with k = {k} needs more than {k} samples per set, got {len(real)} real "
                         f"and {len(fake)} fake")
    with contextlib.redirect_stdout(io.StringIO()):  # compute_prdc prints the set sizes
        out = compute_prdc(real, fake, nearest_k=k)
    return {name: float(value) for name, value in out.items()}
