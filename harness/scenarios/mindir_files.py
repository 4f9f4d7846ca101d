"""The user's MindIR files in ``mindir-latency``: the files a ``mindir=`` value names, what each declares, and the
concrete input shapes it is timed at (a dynamic first dimension set from ``mindir_batch``).

Every problem is a ``BadInput`` naming the file, the input and what to pass, found before anything is timed.
"""
from __future__ import annotations

import glob
from pathlib import Path

from harness.errors import BadInput
from harness.scenarios.inference import InferenceError, read_mindir

GLOB_CHARS = "*?["


def mindir_files(value: str) -> list[Path]:
    """Return the files of a ``mindir=`` value: comma-separated paths or globs, in the order given (each glob's
    matches sorted), each file once; BadInput when a glob matches nothing."""
    found: list[Path] = []
    for item in (v.strip() for v in value.split(",")):
        if not item:
            continue
        paths = [Path(item)]
        if any(c in item for c in GLOB_CHARS):
            paths = [Path(m) for m in sorted(glob.glob(item))]
            if not paths:
                raise BadInput(f"--set mindir={item!r}: the glob matches no file; expected MindIR file paths or globs, "
                               f"comma-separated")
        found += [p for p in paths if p not in found]
    if not found:
        raise BadInput(f"--set mindir={value!r}: names no file; expected MindIR file paths or globs, comma-separated")
    return found


def concrete_shapes(path: Path, inputs: list[dict], batch: int | None) -> list[list[int]]:
    """Return each declared input's shape with a dynamic (-1) first dimension set to ``batch``; BadInput naming the
    file and input when a shape is undeclared, dynamic beyond its first dimension, or dynamic with no ``batch``."""
    shapes = []
    for inp in inputs:
        shape, name = inp["shape"], inp["name"]
        if shape is None:
            raise BadInput(f"{path}: input {name!r} declares no shape; only MindIR files with declared input shapes "
                           f"can be timed")
        if any(d < 0 for d in shape[1:]):
            raise BadInput(f"{path}: input {name!r} has a dynamic dimension beyond the first (declared shape "
                           f"{shape}); only a dynamic first (batch) dimension can be set, with --set mindir_batch=N: "
                           f"export it with the other dimensions fixed")
        if shape and shape[0] < 0:
            if batch is None:
                raise BadInput(f"{path}: input {name!r} has a dynamic first dimension (declared shape {shape}); "
                               f"give its size with --set mindir_batch=N (comma-separated for several)")
            shape = [batch, *shape[1:]]
        shapes.append(list(shape))
    return shapes


def is_dynamic(inputs: list[dict]) -> bool:
    """Return whether any declared input has a dynamic (-1) dimension."""
    return any(d < 0 for inp in inputs for d in inp["shape"] or ())


def describe(path: Path, batches: list[int] | None) -> dict:
    """Return what a user's MindIR file is and how it is timed: path, name, bytes, sha256, declared inputs and
    outputs, and ``shapes`` (one list of concrete input shapes per batch of ``batches``, one list for a fixed file);
    BadInput for a missing, unreadable or corrupt file and for dynamic dimensions that cannot be set."""
    from pgan_ref.fileio import sha256_file

    try:
        declared = read_mindir(path)
    except InferenceError as e:
        raise BadInput(f"--set mindir: {e}") from None
    dynamic = is_dynamic(declared["inputs"])
    shapes = [concrete_shapes(path, declared["inputs"], b) for b in ((batches or [None]) if dynamic else [None])]
    return {"path": path, "name": path.name, "bytes": path.stat().st_size, "sha256": sha256_file(path),
            "dynamic": dynamic, **declared, "shapes": shapes}


def batch_of(inputs: list[dict], shapes: list[list[int]]) -> tuple[int | None, str | None]:
    """Return (batch size, the input it is read from): the first dimension of the first input that has one."""
    return next(((s[0], i["name"]) for i, s in zip(inputs, shapes) if s), (None, None))
