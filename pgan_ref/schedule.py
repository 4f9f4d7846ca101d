"""The training schedule: iterations per scale and the alpha (fade-in) table for N devices (spec §2)."""
from __future__ import annotations

import math

import numpy as np


def iterations(num_batch: int, devices: int = 1) -> int:
    """Return the iterations a scale runs on ``devices`` devices (``ceil(num_batch / N)`` like the ModelZoo loop)."""
    return math.ceil(num_batch / devices)


def alpha_at(i: int, alpha_jumps: int, alpha_size_jumps: int, devices: int = 1) -> float:
    """Return alpha at iteration ``i``: ``1 - floor(i/K)/J`` while ``i < J*K``, else 0 (J = jumps / N)."""
    j = alpha_jumps / devices
    k = alpha_size_jumps
    if i < j * k:
        return 1.0 - (i // k) / j
    return 0.0


def alpha_table(num_batch: int, alpha_jumps: int, alpha_size_jumps: int, devices: int = 1) -> np.ndarray:
    """Return alpha for every iteration of a scale as a float64 array."""
    n = iterations(num_batch, devices)
    return np.array([alpha_at(i, alpha_jumps, alpha_size_jumps, devices) for i in range(n)], dtype=np.float64)


def fade_iterations(alpha_jumps: int, alpha_size_jumps: int, devices: int = 1) -> int:
    """Return how many iterations of a scale have alpha > 0 (the fade-in phase)."""
    return math.ceil(alpha_jumps / devices * alpha_size_jumps)


def schedule_summary(cfg, devices: int = 1) -> list[dict]:
    """Return per-scale iterations and fade lengths, in iterations and in images (all devices)."""
    rows = []
    for s, scale in enumerate(cfg.scales):
        n = iterations(cfg.num_batch[s], devices)
        fade = min(n, fade_iterations(cfg.alpha_jumps[s], cfg.alpha_size_jumps[s], devices))
        images = cfg.batch_size_at(s) * devices
        rows.append({"scale": scale, "iterations": n, "fade_iterations": fade, "images": n * images,
                     "fade_images": fade * images})
    return rows
