"""Report files are for their owner only: folders 0700, files 0600, written under a temporary name."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    os.chmod(path, PRIVATE_DIR)  # mkdir's mode is masked by the umask and ignored when it exists
    return path


def write_private(path: Path, write: Callable[[Path], object]) -> Path:
    """Run `write(tmp)`, make the file owner-only, then rename it into place."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    os.close(fd)  # created 0600 before any content lands in it
    try:
        write(tmp)
        os.chmod(tmp, PRIVATE_FILE)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_private_text(path: Path, text: str) -> Path:
    return write_private(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
