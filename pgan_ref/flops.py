"""The model's own FLOP count: multiply-adds of every conv and linear layer, times 2 (spec §8)."""
from __future__ import annotations

# A training iteration costs about this many forward passes per image (D on real, fake and the GP
# interpolates with double backward; G forward and backward): the spec's estimate.
FORWARD_EQUIVALENTS_PER_ITERATION = 18


def generator_flops(latent: int, depths: list[int]) -> int:
    """Return forward FLOPs per image of a generator with these per-scale depths (top toRGB only)."""
    d0 = depths[0]
    macs = latent * 16 * d0 + 16 * d0 * d0 * 9
    for s in range(1, len(depths)):
        hw = (4 * 2 ** s) ** 2
        macs += hw * 9 * (depths[s - 1] * depths[s] + depths[s] * depths[s])
    macs += (4 * 2 ** (len(depths) - 1)) ** 2 * depths[-1] * 3
    return 2 * macs


def discriminator_flops(depths: list[int], minibatch_std: bool = True) -> int:
    """Return forward FLOPs per image of a discriminator with these per-scale depths (top fromRGB only)."""
    d0 = depths[0]
    top = len(depths) - 1
    macs = (4 * 2 ** top) ** 2 * 3 * depths[-1]
    for s in range(1, len(depths)):
        hw = (4 * 2 ** s) ** 2
        macs += hw * 9 * (depths[s] * depths[s] + depths[s] * depths[s - 1])
    macs += 16 * 9 * (d0 + int(minibatch_std)) * d0 + 16 * d0 * d0 + d0
    return 2 * macs


def iteration_flops(latent: int, depths: list[int], batch: int) -> float:
    """Return the estimated FLOPs of one training iteration (spec: ~18 forward-equivalents per image)."""
    per_forward = (generator_flops(latent, depths) + discriminator_flops(depths)) / 2
    return float(FORWARD_EQUIVALENTS_PER_ITERATION * per_forward * batch)
