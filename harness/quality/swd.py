"""Multi-scale sliced Wasserstein distance (Karras et al. 2018, NVIDIA progressive_growing_of_gans metrics)."""
from __future__ import annotations

import numpy as np
import scipy.ndimage

NHOOD_SIZE = 7            # 7x7 neighbourhoods (x 3 channels = 147-d descriptors)
NHOODS_PER_IMAGE = 128
DIR_REPEATS = 4
DIRS_PER_REPEAT = 128
MIN_RESOLUTION = 16       # the coarsest pyramid level
CHUNK = 256               # images per pyramid computation (bounds memory)
_BINOMIAL = np.float32([1, 4, 6, 4, 1])
GAUSS_5X5 = (np.outer(_BINOMIAL, _BINOMIAL) / 256.0).astype(np.float32)


def pyr_down(x: np.ndarray) -> np.ndarray:
    """Blur an NCHW float32 batch with the 5x5 binomial filter (mirror borders) and keep every other pixel."""
    return scipy.ndimage.convolve(x, GAUSS_5X5[None, None], mode="mirror")[:, :, ::2, ::2]


def pyr_up(x: np.ndarray) -> np.ndarray:
    """Upsample an NCHW float32 batch 2x by zero insertion and 4 x the binomial filter (as cv2.pyrUp)."""
    n, c, h, w = x.shape
    up = np.zeros((n, c, 2 * h, 2 * w), x.dtype)
    up[:, :, ::2, ::2] = x
    return scipy.ndimage.convolve(up, GAUSS_5X5[None, None] * 4.0, mode="mirror")


def laplacian_pyramid(images_nchw: np.ndarray, levels: int) -> list[np.ndarray]:
    """Return the Laplacian pyramid of an NCHW batch: ``levels`` float32 arrays, finest first, coarsest a blur."""
    pyramid = [np.asarray(images_nchw, dtype=np.float32)]
    for _ in range(1, levels):
        pyramid.append(pyr_down(pyramid[-1]))
        pyramid[-2] = pyramid[-2] - pyr_up(pyramid[-1])
    return pyramid


def swd_resolutions(size: int) -> list[int]:
    """Return the SWD levels of a ``size`` px image: size, size/2, ... down to 16 px."""
    res = []
    while size >= MIN_RESOLUTION:
        res.append(size)
        size //= 2
    if not res:
        raise ValueError(f"SWD needs images of at least {MIN_RESOLUTION} px, got {size} px")
    return res


def neighbourhoods(level: np.ndarray, per_image: int, rng: np.random.Generator) -> np.ndarray:
    """Return ``per_image`` random 7x7 neighbourhoods (fully inside the image) per image: (N * per_image, C, 7, 7)."""
    n, c, h, w = level.shape
    r = NHOOD_SIZE // 2
    img = np.repeat(np.arange(n), per_image)[:, None, None, None]
    xs = rng.integers(r, w - r, size=(len(img), 1, 1, 1)) + np.arange(-r, r + 1)[None, None, None, :]
    ys = rng.integers(r, h - r, size=(len(img), 1, 1, 1)) + np.arange(-r, r + 1)[None, None, :, None]
    return level[img, np.arange(c)[None, :, None, None], ys, xs]


def normalise_descriptors(desc: np.ndarray) -> np.ndarray:
    """Return (N, C*7*7) descriptors with each channel at mean 0, std 1 over the whole set."""
    desc = desc - desc.mean(axis=(0, 2, 3), keepdims=True)
    desc = desc / desc.std(axis=(0, 2, 3), keepdims=True)
    return desc.reshape(len(desc), -1)


def sliced_wasserstein(desc_a: np.ndarray, desc_b: np.ndarray, dirs: np.ndarray) -> float:
    """Return mean |sort(desc_a @ dirs) - sort(desc_b @ dirs)| over samples and directions (equal set sizes)."""
    if desc_a.shape != desc_b.shape or desc_a.ndim != 2:
        raise ValueError(f"sliced_wasserstein needs two (N, D) arrays of equal shape, got {desc_a.shape}, "
                         f"{desc_b.shape}")
    proj_a, proj_b = np.sort(desc_a @ dirs, axis=0), np.sort(desc_b @ dirs, axis=0)
    return float(np.mean(np.abs(proj_a - proj_b)))


def random_directions(dim: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """Return ``count`` random unit directions in ``dim`` dimensions as a (dim, count) float32 array."""
    dirs = rng.standard_normal((dim, count))
    return (dirs / np.sqrt(np.sum(dirs ** 2, axis=0, keepdims=True))).astype(np.float32)


def level_descriptors(images_nchw: np.ndarray, n_levels: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Return, per pyramid level, the normalised descriptors of a uint8 NCHW set (pyramids built in chunks)."""
    per_level: list[list[np.ndarray]] = [[] for _ in range(n_levels)]
    for start in range(0, len(images_nchw), CHUNK):
        for lod, level in enumerate(laplacian_pyramid(images_nchw[start:start + CHUNK], n_levels)):
            per_level[lod].append(neighbourhoods(level, NHOODS_PER_IMAGE, rng))
    return [normalise_descriptors(np.concatenate(d)) for d in per_level]


def multiscale_swd(real_nchw_uint8: np.ndarray, fake_nchw_uint8: np.ndarray, seed: int = 0) -> dict:
    """Return ``{resolution: SWD x 1e3, ..., "avg": mean}`` of two equal-sized uint8 NCHW RGB sets.

    Levels run from the output resolution down to 16 px; 128 neighbourhoods per image and 4 x 128 unit
    directions per level are drawn from ``numpy.random.default_rng(seed)``.
    """
    real, fake = np.asarray(real_nchw_uint8), np.asarray(fake_nchw_uint8)
    if real.shape != fake.shape or real.ndim != 4 or real.shape[1] != 3 or real.shape[2] != real.shape[3]:
        raise ValueError(f"multiscale_swd needs two square NCHW RGB sets of equal shape, got {real.shape} and "
                         f"{fake.shape}")
    resolutions = swd_resolutions(real.shape[2])
    rng = np.random.default_rng(seed)
    desc_real = level_descriptors(real, len(resolutions), rng)
    desc_fake = level_descriptors(fake, len(resolutions), rng)
    out: dict = {}
    for res, a, b in zip(resolutions, desc_real, desc_fake):
        dists = [sliced_wasserstein(a, b, random_directions(a.shape[1], DIRS_PER_REPEAT, rng))
                 for _ in range(DIR_REPEATS)]
        out[res] = float(np.mean(dists)) * 1e3
    out["avg"] = float(np.mean([out[r] for r in resolutions]))
    return out
