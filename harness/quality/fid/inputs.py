"""Image sources for FID: folders, .npy/.npz files, arrays and iterables of uint8 NHWC batches.

Every source yields uint8 NHWC RGB batches (grey images are repeated to RGB):
- a folder: the image files directly inside it (png, jpg, jpeg, bmp, ppm, pgm, tif, tiff, webp), sorted by
  name, loaded with PIL and converted to 8-bit RGB (like pytorch-fid; 16-bit grey keeps its high byte, where
  PIL alone would clip it to white); consecutive images of different sizes go into separate batches;
- a .npy file, a .npz file (key ``images``, ``arr_0`` or its only array) or a numpy array of shape
  (N, H, W, C), (N, C, H, W) with C in {1, 3}, or (N, H, W): uint8 as is; floats are quantised like saving a
  PNG: values in [0, 1] as ``round(255 x)``, and arrays with negative values as [-1, 1] ``round(127.5 (x + 1))``
  (the range is guessed per array or yielded batch: pass uint8 to avoid the guess);
- any iterable of such batches, or a callable returning one (a generator checkpoint is wired this way; an
  endless one needs ``n``).
``n`` keeps the first ``n`` images. Folders and arrays have a fingerprint (sha256 of the files' contents in name
order, not their names or folder, or of the array bytes); iterables are fingerprinted from the bytes they yielded.
"""
from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
from pgan_ref.fileio import sha256_file
from pgan_ref.images import DECODE_ERRORS, load_rgb

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp"}
IMAGE_KEYS = ("images", "arr_0")
IMAGES_IN_NPZ = "an images array named 'images' or 'arr_0' (or the file's only array)"
# What numpy raises for a missing, truncated or damaged .npy/.npz (a cut zip is BadZipFile, a cut .npy EOFError).
ARRAY_FILE_ERRORS = (OSError, ValueError, EOFError, zipfile.BadZipFile)


class InputError(ValueError):
    """An image source is missing, empty, unreadable or of an unsupported layout."""


def to_uint8_nhwc(arr: np.ndarray) -> np.ndarray:
    """Return an image array as uint8 NHWC RGB (see the module docstring for accepted layouts and ranges)."""
    arr = np.asarray(arr)
    if arr.ndim == 3:
        arr = arr[..., None]
    if arr.ndim != 4 or (arr.shape[3] not in (1, 3) and arr.shape[1] not in (1, 3)):
        raise InputError(f"expected images of shape (N, H, W, C) or (N, C, H, W) with C in (1, 3), got {arr.shape}")
    if arr.shape[3] not in (1, 3):
        arr = arr.transpose(0, 2, 3, 1)
    if arr.dtype != np.uint8:
        if not np.issubdtype(arr.dtype, np.floating):
            raise InputError(f"expected uint8 or float images, got {arr.dtype}")
        x = arr.astype(np.float64)
        x = (x + 1) * 127.5 if x.size and x.min() < 0 else x * 255
        arr = np.rint(x).clip(0, 255).astype(np.uint8)
    return np.repeat(arr, 3, axis=3) if arr.shape[3] == 1 else arr


class ImageSource:
    """A sequence of images delivered as uint8 NHWC batches, with a description and a fingerprint."""

    description = "images"
    count: int | None = None

    def batches(self, batch_size: int) -> Iterator[np.ndarray]:
        """Yield uint8 NHWC RGB batches of at most ``batch_size`` images."""
        raise NotImplementedError

    def fingerprint(self) -> str | None:
        """Return the sha256 identifying these images, or None when only known after iterating."""
        return None


class FolderSource(ImageSource):
    """The image files directly inside a folder, sorted by name."""

    def __init__(self, folder: Path, n: int | None = None):
        if not folder.is_dir():
            raise InputError(f"image folder {folder} does not exist or is not a directory")
        self.files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())[:n]
        if not self.files:
            raise InputError(f"no images ({', '.join(sorted(IMAGE_EXTENSIONS))}) in folder {folder}")
        self.description, self.count = f"folder {folder}", len(self.files)

    @staticmethod
    def _load(path: Path) -> np.ndarray:
        try:
            return np.asarray(load_rgb(path))
        except DECODE_ERRORS as e:
            raise InputError(f"cannot read image {path}: {e}") from None

    def batches(self, batch_size: int) -> Iterator[np.ndarray]:
        return _rebatch((self._load(path)[None] for path in self.files), batch_size)

    def fingerprint(self) -> str:
        h = hashlib.sha256()
        for path in self.files:
            h.update(f"{path.stat().st_size}\0{sha256_file(path)}\n".encode())
        return h.hexdigest()


def _rebatch(batches: Iterable[np.ndarray], batch_size: int) -> Iterator[np.ndarray]:
    """Regroup image batches into ``batch_size`` ones (smaller at the end and where the image size changes)."""
    pending: list[np.ndarray] = []
    for batch in batches:
        while len(batch):
            if pending and pending[0].shape[1:] != batch.shape[1:]:
                yield np.concatenate(pending)
                pending = []
            take = batch_size - sum(map(len, pending))
            pending.append(batch[:take])
            batch = batch[take:]
            if sum(map(len, pending)) == batch_size:
                yield np.concatenate(pending)
                pending = []
    if pending:
        yield np.concatenate(pending)


def _hash_images(h, images: np.ndarray) -> None:
    """Feed each image's shape and bytes to ``h``, so the digest does not depend on how images are batched."""
    for img in images:
        h.update(repr(img.shape).encode())
        h.update(np.ascontiguousarray(img).data)


class ArraySource(ImageSource):
    """Images held in a numpy array (or loaded from .npy/.npz)."""

    def __init__(self, images: np.ndarray, description: str = "array", n: int | None = None):
        try:
            self.images = to_uint8_nhwc(images[:n])
        except InputError as e:
            raise InputError(f"{description}: {e}") from None
        if not len(self.images):
            raise InputError(f"{description} holds no images")
        self.description, self.count = description, len(self.images)

    def batches(self, batch_size: int) -> Iterator[np.ndarray]:
        return _rebatch([self.images], batch_size)

    def fingerprint(self) -> str:
        h = hashlib.sha256()
        _hash_images(h, self.images)
        return h.hexdigest()


class IterableSource(ImageSource):
    """Batches from an iterable or a callable returning one; fingerprinted from the bytes it yielded."""

    def __init__(self, batches: Iterable | Callable[[], Iterable], n: int | None = None):
        self._batches, self.n, self._hash = batches, n, None
        self.description, self.count = f"iterable {type(batches).__name__}", n

    def batches(self, batch_size: int) -> Iterator[np.ndarray]:
        return _rebatch(self._images(), batch_size)

    def _images(self) -> Iterator[np.ndarray]:
        h, seen = hashlib.sha256(), 0
        for batch in self._batches() if callable(self._batches) else self._batches:
            batch = to_uint8_nhwc(batch)[: None if self.n is None else self.n - seen]
            _hash_images(h, batch)
            seen += len(batch)
            yield batch
            if self.n is not None and seen >= self.n:
                break
        if not seen:
            raise InputError(f"{self.description} yielded no images")
        self._hash, self.count = h.hexdigest(), seen

    def fingerprint(self) -> str | None:
        return self._hash


def open_source(obj, n: int | None = None) -> ImageSource:
    """Return the ``ImageSource`` for a folder or .npy/.npz path, an array, an iterable or a callable."""
    if isinstance(obj, ImageSource):
        return obj
    if isinstance(obj, (str, Path)):
        path = Path(obj)
        if path.suffix in (".npy", ".npz") and path.is_file():
            return ArraySource(_load_array_file(path), f"array file {path}", n)
        if not path.exists():
            raise InputError(f"{path} does not exist (expected an image folder or a .npy/.npz file)")
        return FolderSource(path, n)
    if isinstance(obj, np.ndarray):
        return ArraySource(obj, f"array {obj.dtype}{list(obj.shape)}", n)
    if callable(obj) or isinstance(obj, Iterable):
        return IterableSource(obj, n)
    raise InputError(f"cannot read images from a {type(obj).__name__}")


def images_key(names: list[str]) -> str | None:
    """Return the name of the images array among an .npz file's array ``names``, or None when there is none."""
    return next((k for k in IMAGE_KEYS if k in names), names[0] if len(names) == 1 else None)


def _load_array_file(path: Path) -> np.ndarray:
    try:
        with open(path, "rb") as f:
            data = np.load(f, allow_pickle=False)
            if isinstance(data, np.ndarray):
                return data
            names, key = data.files, images_key(data.files)
            images = None if key is None else data[key]
    except ARRAY_FILE_ERRORS as e:
        raise InputError(f"cannot read {path}: {e} (truncated or damaged?); expected a .npy/.npz of images") from None
    if images is None:
        raise InputError(f"{path} holds arrays {names} and no images: expected {IMAGES_IN_NPZ}")
    return images
