"""Durable file writes: lines appended with one O_APPEND write each, whole files replaced atomically."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Iterable


def append_lines(path: str | Path, lines: Iterable[str], *, fsync: bool = True) -> int:
    """Append each line (newline added) with a single ``write``; return the count.

    A process killed mid-way leaves every earlier line intact (a torn last line is the reader's to skip).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        for line in lines:
            os.write(fd, (line + "\n").encode())
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
