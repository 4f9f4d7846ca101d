"""Bad input: the one error type the CLI reports as a single line with exit 2, range-checked numbers and output
paths checked before anything is computed."""
from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Callable

from pgan_ref.fileio import unwritable_reason


class BadInput(ValueError):
    """An input file, record, option or value that cannot be used; the message names it and what is accepted."""


def bounded(name: str, text, kind: Callable = int, minimum: float | None = None):
    """Return ``text`` converted by ``kind`` (int or float) and checked against ``minimum``, else raise BadInput."""
    accepted = f"{'an integer' if kind is int else 'a number'}" + ("" if minimum is None else f" >= {minimum:g}")
    try:
        value = kind(text)
    except (TypeError, ValueError):
        raise BadInput(f"{name}={text!r}: expected {accepted}") from None
    if (isinstance(value, float) and not math.isfinite(value)) or (minimum is not None and value < minimum):
        raise BadInput(f"{name}={text!r}: expected {accepted}")
    return value


def at_least(minimum: float, kind: Callable = int) -> Callable[[str], object]:
    """Return an argparse ``type`` accepting ``kind`` values >= ``minimum`` (a bad one is a usage error)."""

    def parse(text: str):
        try:
            return bounded("value", text, kind, minimum)
        except BadInput as e:
            raise argparse.ArgumentTypeError(str(e).split(": ", 1)[1] + f", got {text!r}") from None

    parse.__name__ = f"{kind.__name__} >= {minimum:g}"
    return parse


def writable(option: str, path: str | Path, folder: bool = False) -> Path:
    """Return ``path`` (the value of ``option``) as a Path, or raise BadInput saying why that file (``folder``: that
    folder) cannot be written there."""
    problem = unwritable_reason(path, folder)
    if problem:
        raise BadInput(f"{option} {path}: cannot write there ({problem}); expected "
                       f"{'a folder (created if missing)' if folder else 'a file path'}")
    return Path(path)
