"""Durable files: lines appended with one O_APPEND write each, whole files replaced atomically, content hashes."""
from __future__ import annotations

import hashlib
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np


def _ends_mid_line(fd: int) -> bool:
    """Return whether the file open at ``fd`` is non-empty and its last byte is not a newline (a torn line)."""
    size = os.fstat(fd).st_size
    return size > 0 and os.pread(fd, 1, size - 1) != b"\n"


def append_lines(path: str | Path, lines: Iterable[str], *, fsync: bool = True) -> int:
    """Append each line (newline added) with a single ``write`` as ``lines`` yields it; return the count.

    The file (and its folder) is created at the first line: no line, no file. A process killed mid-way leaves
    every earlier line intact (a torn last line is the reader's to skip); the first write starts on a line
    boundary, so a new line is never glued onto a torn one.
    """
    path = Path(path)
    n, fd = 0, None
    try:
        for line in lines:
            if fd is None:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            lead = "\n" if n == 0 and _ends_mid_line(fd) else ""
            os.write(fd, (lead + line + "\n").encode())
            n += 1
        if fsync and fd is not None:
            os.fsync(fd)
    finally:
        if fd is not None:
            os.close(fd)
    return n


@contextmanager
def replaced_atomically(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same suffix) to write; on success it is synced and renamed onto
    ``path``, on failure removed: readers see the old file or the whole new one, never a partial one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")  # keeps the suffix: MindSpore/PIL infer formats from it
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Replace ``path`` with ``text`` atomically (UTF-8); return the path."""
    with replaced_atomically(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def save_npz_atomic(path: str | Path, **arrays) -> Path:
    """Replace ``path`` with an ``.npz`` of ``arrays`` atomically; return the path."""
    with replaced_atomically(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
    return Path(path)


def sha256_file(path: str | Path) -> str:
    """Return the hex sha256 of a file's contents."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def unwritable_reason(path: str | Path, folder: bool = False) -> str | None:
    """Return why a file (``folder``: a folder) cannot be created at ``path`` (a folder, or a file, is in the way, or
    the nearest existing parent is a file or not writable), or None when it can be (missing folders are created by
    the writer)."""
    path = Path(path)
    if path.exists() and path.is_dir() != folder:
        return f"{path} is a {'file, not a folder' if folder else 'folder'}"
    parent = next(p for p in (path.parent, *path.parent.parents) if p.exists() or p == p.parent)
    if not parent.is_dir():
        return f"{parent} is a file, not a folder"
    writes_into = path if folder and path.exists() else parent  # a file is replaced through a sibling
    if not os.access(writes_into, os.W_OK | os.X_OK):
        return f"{writes_into} is not writable"
    return None
