"""Named preprocessing modes: uint8 NHWC images -> float32 NCHW 299x299 network input in [-1, 1].

- ``pytorch-fid`` (default): ``x / 255``, bilinear resize as ``torch.nn.functional.interpolate(mode='bilinear',
  align_corners=False)`` (half-pixel centres, no antialias when downsampling), then ``2x - 1``.
- ``clean`` (clean-fid): PIL bicubic resize of each channel as float32 (mode ``F``), clipped to [0, 255],
  then ``(x - 128) / 128``.
- ``tf1`` (TTUR / torch-fidelity): TF1 ``resize_bilinear(align_corners=False)`` legacy sampling
  (``src = dst * in / out``, no half-pixel offset) on [0, 255] values, then ``(x - 128) / 128``.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

MODES = ("pytorch-fid", "clean", "tf1")
DEFAULT_MODE = "pytorch-fid"
INPUT_SIZE = 299  # the network's input height and width


def linear_resize_matrix(n_in: int, n_out: int, half_pixel: bool = True) -> np.ndarray:
    """Return the (n_out, n_in) linear interpolation matrix of torch (``half_pixel``) or TF1 legacy sampling.

    torch ``align_corners=False``: ``src = max((dst + 0.5) * n_in / n_out - 0.5, 0)``;
    TF1: ``src = dst * n_in / n_out``. Both use ``i0 = floor(src)``, ``i1 = min(i0 + 1, n_in - 1)`` and weights
    ``(1 - f, f)``, with coordinates computed in float32 as torch and TF do.
    """
    scale = np.float32(n_in) / np.float32(n_out)
    dst = np.arange(n_out, dtype=np.float32)
    src = np.maximum((dst + np.float32(0.5)) * scale - np.float32(0.5), 0) if half_pixel else dst * scale
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    frac = (src - i0).astype(np.float32)
    m = np.zeros((n_out, n_in), dtype=np.float64)
    np.add.at(m, (np.arange(n_out), i0), 1 - frac)
    np.add.at(m, (np.arange(n_out), i1), frac)
    return m


def resize_linear(x: np.ndarray, size: int, half_pixel: bool = True) -> np.ndarray:
    """Bilinear-resize float NCHW images to ``size`` x ``size`` (separable; float64 accumulation, float32 out)."""
    mh = linear_resize_matrix(x.shape[2], size, half_pixel)
    mw = linear_resize_matrix(x.shape[3], size, half_pixel)
    return np.einsum("oh,nchw,pw->ncop", mh, x.astype(np.float64), mw, optimize=True).astype(np.float32)


def _resize_pil_bicubic(x: np.ndarray, size: int) -> np.ndarray:
    """clean-fid's resize: each channel as a float32 PIL image, bicubic, clipped to [0, 255]."""
    out = np.empty(x.shape[:2] + (size, size), dtype=np.float32)
    for i, img in enumerate(x):
        for c, channel in enumerate(img):
            resized = Image.fromarray(channel, mode="F").resize((size, size), resample=Image.BICUBIC)
            out[i, c] = np.asarray(resized).clip(0, 255)
    return out


def preprocess(batch: np.ndarray, mode: str = DEFAULT_MODE, size: int = INPUT_SIZE) -> np.ndarray:
    """Return the network input (float32 NCHW, ``size`` x ``size``) for a uint8 NHWC RGB batch."""
    if batch.dtype != np.uint8 or batch.ndim != 4 or batch.shape[3] != 3:
        raise ValueError(f"expected a uint8 NHWC RGB batch, got {batch.dtype} {batch.shape}")
    x = batch.transpose(0, 3, 1, 2).astype(np.float32)
    if mode == "pytorch-fid":
        return 2 * resize_linear(x / np.float32(255), size) - 1
    if mode == "clean":
        return (_resize_pil_bicubic(x, size) - 128) / 128
    if mode == "tf1":
        return (resize_linear(x, size, half_pixel=False) - 128) / 128
    raise ValueError(f"unknown preprocessing mode {mode!r}; known: {', '.join(MODES)}")
