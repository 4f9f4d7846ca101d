"""Durable file writes: lines appended with one O_APPEND write each, whole files replaced atomically."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Iterable


def _ends_mid_line(fd: int) -> bool:
    """Return whether the file open at ``fd`` is non-empty and its last byte is not a newline (a torn line)."""
    size = os.fstat(fd).st_size
    return size > 0 and os.pread(fd, 1, size - 1) != b"\n"


def append_lines(path: str | Path, lines: Iterable[str], *, fsync: bool = True) -> int:
    """Append each line (newline added) with a single ``write``; return the count.

    A process killed mid-way leaves every earlier line intact (a torn last line is the reader's to skip); the
    first write starts on a line boundary, so a new line is never glued onto a torn one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        for line in lines:
            lead = "\n" if n == 0 and _ends_mid_line(fd) else ""
            os.write(fd, (lead + line + "\n").encode())
            n += 1
        if fsync:
            os.fsync(fd)
    finally:
        os.close(fd)
    return n


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Replace ``path`` with ``text`` through a synced temporary file and a rename; return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def unwritable_reason(path: str | Path) -> str | None:
    """Return why a file cannot be created at ``path`` (it is a folder, or its nearest existing parent is a
    file or not writable), or None when it can be (missing folders are created by the writer)."""
    path = Path(path)
    if path.is_dir():
        return f"{path} is a folder"
    parent = next(p for p in (path.parent, *path.parent.parents) if p.exists() or p == p.parent)
    if not parent.is_dir():
        return f"{parent} is a file, not a folder"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"{parent} is not writable"
    return None
