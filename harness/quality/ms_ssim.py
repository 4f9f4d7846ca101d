"""MS-SSIM of two uint8 image batches (Wang et al. 2003, as in NVIDIA's progressive_growing_of_gans metrics)."""
from __future__ import annotations

import numpy as np
from scipy import signal

MAX_VAL = 255.0
FILTER_SIZE = 11
FILTER_SIGMA = 1.5
K1, K2 = 0.01, 0.03
# The paper's per-level weights (they do not sum to 1; they match Wang's MATLAB code).
WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def gaussian_window(size: int, sigma: float) -> np.ndarray:
    """Return MATLAB's ``fspecial('gaussian', size, sigma)``: a normalised size x size float64 window."""
    coords = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(coords[:, None] ** 2 + coords[None, :] ** 2) / (2.0 * sigma ** 2))
    return g / g.sum()


def ssim_and_cs(img1: np.ndarray, img2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return per-image mean SSIM and contrast-structure terms of two float32 NHWC batches ('valid' windows).

    The 11x11 window shrinks to the image size at coarse levels, its sigma in proportion.
    """
    size = min(FILTER_SIZE, img1.shape[1], img1.shape[2])
    window = gaussian_window(size, size * FILTER_SIGMA / FILTER_SIZE)[None, :, :, None]

    def blur(x):
        return signal.fftconvolve(x, window, mode="valid")

    mu1, mu2 = blur(img1), blur(img2)
    mu11, mu22, mu12 = mu1 * mu1, mu2 * mu2, mu1 * mu2
    var1, var2, cov = blur(img1 * img1) - mu11, blur(img2 * img2) - mu22, blur(img1 * img2) - mu12
    c1, c2 = (K1 * MAX_VAL) ** 2, (K2 * MAX_VAL) ** 2
    v1, v2 = 2.0 * cov + c2, var1 + var2 + c2
    ssim = np.mean((2.0 * mu12 + c1) * v1 / ((mu11 + mu22 + c1) * v2), axis=(1, 2, 3))
    return ssim, np.mean(v1 / v2, axis=(1, 2, 3))


def box_downsample(x: np.ndarray) -> np.ndarray:
    """Return the 2x2 box average of an NHWC batch (odd trailing rows/columns dropped)."""
    h, w = x.shape[1] // 2 * 2, x.shape[2] // 2 * 2
    x = x[:, :h, :w]
    return (x[:, 0::2, 0::2] + x[:, 1::2, 0::2] + x[:, 0::2, 1::2] + x[:, 1::2, 1::2]) * 0.25


def ms_ssim_per_image(img1: np.ndarray, img2: np.ndarray) -> np.ndarray:
    """Return the MS-SSIM of each image pair of two uint8 NHWC batches of equal shape."""
    if img1.shape != img2.shape or img1.ndim != 4:
        raise ValueError(f"MS-SSIM needs two NHWC batches of equal shape, got {img1.shape} and {img2.shape}")
    weights = np.asarray(WEIGHTS)
    if min(img1.shape[1:3]) < 2 ** (len(weights) - 1):
        raise ValueError(f"MS-SSIM's {len(weights)} levels need images of at least {2 ** (len(weights) - 1)} px, "
                         f"got {img1.shape[1]}x{img1.shape[2]}")
    a, b = img1.astype(np.float32), img2.astype(np.float32)
    ssims, css = [], []
    for _ in weights:
        ssim, cs = ssim_and_cs(a, b)
        ssims.append(ssim)
        css.append(cs)
        a, b = box_downsample(a), box_downsample(b)
    ssims, css = np.clip(np.array(ssims), 0, None), np.clip(np.array(css), 0, None)
    return np.prod(css[:-1] ** weights[:-1, None], axis=0) * ssims[-1] ** weights[-1]


def ms_ssim(img1: np.ndarray, img2: np.ndarray) -> float:
    """Return MS-SSIM of two uint8 NHWC batches: max_val 255, 5 levels, the paper's weights, averaged over pairs."""
    return float(np.mean(ms_ssim_per_image(np.asarray(img1), np.asarray(img2))))
