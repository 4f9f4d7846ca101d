"""Training images: find the CelebA folder, preprocess one image, and stream seeded, sharded batches."""
from __future__ import annotations

import itertools
import logging
import os
import threading
from pathlib import Path

import numpy as np
from PIL import Image

from .images import DECODE_ERRORS, load_rgb

log = logging.getLogger(__name__)

CELEBA_DIR = "img_align_celeba"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
# Spec §6: the 128x128 crop of a 178x218 CelebA image, centred at row 121, column 89.
CELEBA_SIZE = (178, 218)
CELEBA_CENTRE = (89, 121)
CELEBA_CROP = 128
HOW_TO_FIX = ("pass --train_data_path pointing at img_align_celeba/ (202,599 JPEGs from CelebA "
              "Align&Cropped), or generate a synthetic folder with `pgan-harness data synthetic DIR`")


class DataError(ValueError):
    """The training data cannot be used; the message says what was wrong and what to do."""


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Return the sorted image files of a CelebA folder (``img_align_celeba/`` itself or its parent)."""
    root = Path(folder).expanduser()
    if not root.exists():
        raise DataError(f"training data folder {root} does not exist: {HOW_TO_FIX}")
    if not root.is_dir():
        raise DataError(f"training data path {root} is not a folder: {HOW_TO_FIX}")
    if (root / CELEBA_DIR).is_dir():
        root = root / CELEBA_DIR
    files = sorted(Path(e.path) for e in os.scandir(root)
                   if e.name.lower().endswith(IMAGE_SUFFIXES) and e.is_file())
    if not files:
        raise DataError(f"no {'/'.join(IMAGE_SUFFIXES)} images in {root}: {HOW_TO_FIX}")
    return files


def crop_box(width: int, height: int) -> tuple[int, int, int, int]:
    """Return the PIL crop box (left, upper, right, lower) of the CelebA face crop for an image size.

    For 178x218 this is exactly spec §6 (rows 57..185, columns 25..153). Other sizes get the same
    relative box: centred at (w*89/178, h*121/218) with side min(w, h)*128/178, always inside the image.
    """
    side = round(min(width, height) * CELEBA_CROP / CELEBA_SIZE[0])
    left = round(width * CELEBA_CENTRE[0] / CELEBA_SIZE[0]) - side // 2
    upper = round(height * CELEBA_CENTRE[1] / CELEBA_SIZE[1]) - side // 2
    return left, upper, left + side, upper + side


def first_readable(files: list[Path]) -> Path:
    """Return the first image of ``files`` that decodes, or raise DataError when none does."""
    for path in files:
        try:
            load_rgb(path)
        except DECODE_ERRORS:
            continue
        return path
    raise DataError(f"none of the {len(files)} images in {files[0].parent} could be read: {HOW_TO_FIX}")


def preprocess(image: Image.Image, scale: int, *, crop: bool = True, mirror: bool = False) -> np.ndarray:
    """Return an RGB image as float32 CHW (3, scale, scale) in [-1, 1]: crop, bilinear resize, mirror.

    ``crop=False`` squashes the whole image (ModelZoo D8); ``mirror=True`` flips left-right.
    """
    if crop:
        image = image.crop(crop_box(*image.size))
    pixels = np.asarray(image.resize((scale, scale), Image.BILINEAR), dtype=np.float32)
    if mirror:
        pixels = pixels[:, ::-1]
    return np.ascontiguousarray(pixels.transpose(2, 0, 1)) / np.float32(255) * np.float32(2) - np.float32(1)


def samples_per_rank(num_files: int, group_size: int = 1) -> int:
    """Return how many images each rank reads per epoch (the remainder of an uneven split is left out)."""
    return num_files // group_size


def epoch_plan(num_files: int, epoch: int, *, rank: int = 0, group_size: int = 1, seed: int = 0,
               shuffle: bool = True, mirror: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Return this rank's file indices and mirror flags for one epoch, a pure function of its arguments.

    All ranks draw the same permutation from (seed, epoch) and take disjoint equal slices of it, so
    together they read every file at most once per epoch; the mirror coin flips come from the same draw.
    """
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(num_files) if shuffle else np.arange(num_files)
    flips = rng.random(num_files) < 0.5 if mirror else np.zeros(num_files, dtype=bool)
    per_rank = samples_per_rank(num_files, group_size)
    part = slice(rank * per_rank, (rank + 1) * per_rank)
    return order[part], flips[part]


class SkipCounter:
    """Thread-safe tally of unreadable images: which files, and how many reads were substituted."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.bad_files: set[Path] = set()
        self.skipped = 0

    def record(self, path: Path, error: Exception | None = None) -> None:
        """Count one substituted read of ``path``; log a warning the first time a file is seen bad."""
        with self._lock:
            self.skipped += 1
            first = path not in self.bad_files
            self.bad_files.add(path)
        if first:
            log.warning("skipping unreadable image %s (%s); the next readable image is used instead",
                        path, error)


class _Plan:
    """Iterable source of (file index, mirror flag) rows: this rank's epochs one after another, forever."""

    def __init__(self, num_files: int, **plan_options) -> None:
        self.num_files = num_files
        self.plan_options = plan_options

    def __iter__(self):
        for epoch in itertools.count():
            for index, flip in zip(*epoch_plan(self.num_files, epoch, **self.plan_options)):
                yield np.array(index, dtype=np.int64), np.array(flip)


class _Loader:
    """Map operation: decode and preprocess one planned image, substituting the next readable file."""

    def __init__(self, files: list[Path], scale: int, crop: bool, skips: SkipCounter) -> None:
        self.files, self.scale, self.crop, self.skips = files, scale, crop, skips

    def __call__(self, index: np.ndarray, flip: np.ndarray) -> np.ndarray:
        """Return the preprocessed image for ``index`` (or the next readable file after it)."""
        count = len(self.files)
        for offset in range(count):
            path = self.files[(int(index) + offset) % count]
            if path in self.skips.bad_files:
                self.skips.record(path)
                continue
            try:
                image = load_rgb(path)
            except DECODE_ERRORS as error:
                self.skips.record(path, error)
                continue
            return preprocess(image, self.scale, crop=self.crop, mirror=bool(flip))
        raise DataError(f"none of the {count} images could be read: {HOW_TO_FIX}")


def make_dataset(files: list[Path], scale: int, batch_size: int, *, rank: int = 0, group_size: int = 1,
                 seed: int = 0, crop: bool = True, mirror: bool = False, num_workers: int = 2,
                 shuffle: bool = True, skips: SkipCounter | None = None):
    """Return an endless ``mindspore.dataset`` pipeline of float32 (batch_size, 3, scale, scale) batches.

    Shuffling, sharding and mirror flips come from ``epoch_plan`` (seeded per dataset, reshuffled each
    epoch), not from MindSpore's sampler, whose seed is process-global (``ds.config.set_seed`` also
    reseeds ``random`` and ``numpy.random``). Decoding runs in ``num_workers`` threads of the main
    process, so ``skips`` (a ``SkipCounter``) sees every unreadable file; it also counts prefetched rows.
    The same arguments give the same batch sequence.
    """
    import mindspore.dataset as ds

    if samples_per_rank(len(files), group_size) < batch_size:
        raise DataError(f"{len(files)} images split over {group_size} rank(s) cannot fill one batch of "
                        f"{batch_size}: {HOW_TO_FIX}")
    plan = _Plan(len(files), rank=rank, group_size=group_size, seed=seed, shuffle=shuffle, mirror=mirror)
    loader = _Loader(files, scale, crop, skips if skips is not None else SkipCounter())
    dataset = ds.GeneratorDataset(plan, column_names=["index", "flip"], shuffle=False)
    dataset = dataset.map(operations=loader, input_columns=["index", "flip"], output_columns=["image"],
                          num_parallel_workers=num_workers, python_multiprocessing=False)
    return dataset.batch(batch_size, drop_remainder=True)


def iterate_batches(files: list[Path], scale: int, batch_size: int, **options):
    """Yield numpy float32 (batch_size, 3, scale, scale) batches forever; options as for ``make_dataset``."""
    skips = options.setdefault("skips", SkipCounter())
    iterator = make_dataset(files, scale, batch_size, **options).create_tuple_iterator(
        output_numpy=True, num_epochs=1)
    try:
        for (images,) in iterator:
            yield images
    except RuntimeError as error:
        if len(skips.bad_files) == len(files):
            raise DataError(f"none of the {len(files)} images could be read: {HOW_TO_FIX}") from error
        raise
    finally:
        iterator.stop()
