"""Precision/recall/density/coverage: a hand-computed case and the properties the metrics are defined by."""
import numpy as np
import pytest

from harness.quality import precision_recall_density_coverage as prdc


def test_closed_form_one_dimensional_case():
    # k = 1: every real radius is 1; fake radii are 4.5 (for 0.5) and 1. Only 0.5 lies in real balls (of 0 and 1,
    # strict <); the fake ball of radius 4.5 round 0.5 holds every real point; reals 0 and 1 have a fake within 1.
    real = np.array([[0.0], [1.0], [2.0], [3.0]])
    fake = np.array([[0.5], [5.0], [6.0], [7.0]])
    assert prdc(real, fake, k=1) == {"precision": 0.25, "recall": 1.0, "density": 0.5, "coverage": 0.5}


def test_identical_sets_give_full_precision_and_recall():
    x = np.random.default_rng(0).standard_normal((200, 16))
    r = prdc(x, x.copy())
    assert r["precision"] == 1.0 and r["recall"] == 1.0 and r["coverage"] == 1.0


def _clusters(rng, modes, per_mode=150):
    """Unit Gaussians round four well-separated centres in 2-D (k-NN balls estimate a 2-D manifold well)."""
    centres = np.array([[0.0, 0.0], [20.0, 0.0], [0.0, 20.0], [20.0, 20.0]])
    return np.concatenate([centres[m] + rng.standard_normal((per_mode, 2)) for m in modes])


def test_dropped_modes_lower_recall_not_precision():
    rng = np.random.default_rng(1)
    real = _clusters(rng, range(4))
    full = prdc(real, _clusters(rng, range(4)))
    half = prdc(real, _clusters(rng, [0, 1], per_mode=300))
    assert full["recall"] > 0.9 and full["precision"] > 0.9 and full["coverage"] > 0.8
    assert half["precision"] > 0.9  # every fake sample is still realistic
    assert half["recall"] < 0.55 and half["coverage"] < 0.55  # half the real modes are missed


def test_rejects_mismatched_features():
    with pytest.raises(ValueError, match="one d"):
        prdc(np.zeros((10, 4)), np.zeros((10, 5)))
    with pytest.raises(ValueError, match="more than 3"):
        prdc(np.zeros((3, 4)), np.zeros((10, 4)))
