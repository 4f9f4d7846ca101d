"""Decoding one image file to 8-bit RGB with PIL (no MindSpore: FID inputs and the training pipeline share it)."""
from __future__ import annotations

import os

import numpy as np
from PIL import Image

# What PIL raises for a file it cannot decode (truncated, not an image, hostile dimensions...).
DECODE_ERRORS = (OSError, SyntaxError, ValueError, Image.DecompressionBombError)


def load_rgb(path: str | os.PathLike) -> Image.Image:
    """Return the fully decoded 8-bit RGB image at ``path`` (raises one of ``DECODE_ERRORS`` if unreadable)."""
    with Image.open(path) as image:
        return to_rgb8(image)


def to_rgb8(image: Image.Image) -> Image.Image:
    """Return ``image`` as 8-bit RGB; 16-bit grey keeps its high byte, as PIL reduces 16-bit RGB.

    (PIL's own ``convert("RGB")`` clips 16-bit grey at 255, turning it white.) 32-bit integer and float
    pixels (modes ``I``, ``F``) have no agreed 8-bit scale: ValueError.
    """
    if image.mode.startswith("I;16"):
        pixels = np.asarray(image).astype(np.uint16)
        image = Image.fromarray((pixels >> 8).astype(np.uint8), "L")
    elif image.mode in ("I", "F"):
        raise ValueError(f"{'32-bit integer' if image.mode == 'I' else 'floating-point'} pixels (PIL mode "
                         f"{image.mode}) are not supported: save the image with 8 or 16 bits per channel")
    return image.convert("RGB")
