"""Seeded synthetic face-like images in the CelebA folder layout, for tests and runs without CelebA."""
from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from .data import CELEBA_DIR, CELEBA_SIZE, IMAGE_SUFFIXES, DataError, crop_box
from .fileio import replaced_atomically, write_text_atomic

MANIFEST = "synthetic.json"
FORMATS = {"jpg": ("JPEG", {"quality": 90}), "png": ("PNG", {})}
VERSION = 1  # bump when the drawing changes, so old folders are rewritten


def draw_face(rng: np.random.Generator, size: tuple[int, int] = CELEBA_SIZE) -> Image.Image:
    """Return one RGB image: a colour gradient, soft colour blobs and a face-like head in the crop box."""
    width, height = size
    ys, xs = np.mgrid[0:height, 0:width] / max(size)
    top, bottom = rng.uniform(0, 255, (2, 3))
    pixels = top + (bottom - top) * (ys / ys.max())[..., None]
    for _ in range(3):
        centre, sigma = rng.uniform(0, 1, 2), rng.uniform(0.1, 0.3)
        weight = np.exp(-((xs - centre[0]) ** 2 + (ys - centre[1]) ** 2) / (2 * sigma ** 2))[..., None]
        pixels = pixels * (1 - weight) + rng.uniform(0, 255, 3) * weight
    image = Image.fromarray(pixels.astype(np.uint8))
    _draw_head(ImageDraw.Draw(image), rng, crop_box(width, height))
    return image.filter(ImageFilter.GaussianBlur(max(size) / 150))


def _draw_head(draw: ImageDraw.ImageDraw, rng: np.random.Generator, box: tuple[int, int, int, int]) -> None:
    """Draw hair, a skin-coloured face ellipse, two eyes and a mouth inside ``box``."""
    left, upper, right, _ = box
    side = right - left
    cx, cy = (left + right) / 2 + rng.normal(0, side / 40), upper + side / 2 + rng.normal(0, side / 40)
    rx, ry = side * rng.uniform(0.26, 0.34), side * rng.uniform(0.36, 0.44)
    hair = tuple(int(v) for v in rng.uniform(10, 120, 3))
    skin = tuple(int(v) for v in np.array([1.0, 0.8, 0.65]) * rng.uniform(150, 250))
    draw.ellipse((cx - rx * 1.15, cy - ry * 1.2, cx + rx * 1.15, cy + ry * 0.6), fill=hair)
    draw.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=skin)
    eye_y, eye_dx, eye_r = cy - ry * 0.2, rx * rng.uniform(0.35, 0.5), side * 0.04
    for x in (cx - eye_dx, cx + eye_dx):
        draw.ellipse((x - eye_r * 1.6, eye_y - eye_r, x + eye_r * 1.6, eye_y + eye_r), fill=(30, 25, 25))
    mouth_y, mouth_w = cy + ry * 0.5, rx * rng.uniform(0.3, 0.55)
    mouth_h = side * 0.03
    draw.ellipse((cx - mouth_w, mouth_y - mouth_h, cx + mouth_w, mouth_y + mouth_h), fill=(150, 40, 50))


def _read_manifest(folder: Path) -> dict | None:
    """Return the synthetic-set manifest of ``folder``, None if it has none, or raise DataError if it is corrupt."""
    path = folder / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        manifest = None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("n"), int) or manifest.get("fmt") not in FORMATS:
        raise DataError(f"{path} is corrupt (expected the JSON written by `pgan-harness data synthetic`): "
                        "delete it and the synthetic images, or choose a new folder")
    return manifest


def _written_by(manifest: dict | None, folder: Path) -> set[Path]:
    """Return the image paths a manifest says this module wrote into ``folder``."""
    if manifest is None:
        return set()
    return {folder / f"{i:06d}.{manifest['fmt']}" for i in range(1, manifest["n"] + 1)}


def _write_manifest(folder: Path, manifest: dict) -> None:
    """Write the manifest atomically."""
    write_text_atomic(folder / MANIFEST, json.dumps(manifest, sort_keys=True) + "\n")


def write_synthetic(folder: str | os.PathLike, n: int = 64, seed: int = 0,
                    size: tuple[int, int] = CELEBA_SIZE, fmt: str = "jpg") -> list[Path]:
    """Return the paths of ``n`` seeded images (width, height = ``size``) in ``folder/img_align_celeba/``.

    Image i depends only on (seed, i) and the bytes are the same on every run; a complete set with the
    same parameters is left as it is. A folder holding images that this function did not write is refused.
    """
    if n < 1:
        raise DataError(f"the number of synthetic images must be at least 1, got {n}")
    if fmt not in FORMATS:
        raise DataError(f"synthetic image format {fmt!r} is not one of {sorted(FORMATS)}")
    target = Path(folder).expanduser() / CELEBA_DIR
    paths = [target / f"{i:06d}.{fmt}" for i in range(1, n + 1)]
    wanted = {"version": VERSION, "n": n, "seed": seed, "size": list(size), "fmt": fmt, "complete": True}
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as e:  # DIR (or a parent, or DIR/img_align_celeba) is a file
        blocker = next((p for p in (target, *target.parents) if p.exists() and not p.is_dir()), None)
        why = f"{blocker} is a file, not a folder" if blocker else e.strerror
        raise DataError(f"cannot create the folder {target}: {why}: pass a folder path") from None
    with open(target / ".lock", "w") as lock:  # processes sharing the folder (two A/B workers) write it once
        fcntl.flock(lock, fcntl.LOCK_EX)
        existing = [p for p in target.iterdir()  # hidden names: a killed writer's temporary files
                    if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")]
        manifest = _read_manifest(target)
        foreign = sorted(set(existing) - _written_by(manifest, target))
        if foreign:
            raise DataError(f"{target} already holds {len(foreign)} image(s) not written by `pgan-harness data "
                            f"synthetic` (e.g. {foreign[0].name}): choose an empty or new folder")
        if manifest == wanted and all(p.is_file() for p in paths):
            return paths
        _write_manifest(target, {**wanted, "complete": False})
        for stale in existing:  # every one was written here (checked above)
            stale.unlink()
        name, options = FORMATS[fmt]
        for i, path in enumerate(paths, start=1):
            image = draw_face(np.random.default_rng([seed, i]), size)
            with replaced_atomically(path) as tmp:
                image.save(tmp, format=name, **options)
        _write_manifest(target, wanted)
    return paths
