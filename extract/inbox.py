"""Finding exports in the inbox and describing input files (name, path, checksum)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from extract.checksums import sha256_file
from extract.errors import UnreadableFileError

EXPORT_SUFFIXES = {".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".xls"}


def discover_exports(inbox: Path) -> list[Path]:
    """Exports waiting in the inbox, oldest first (a later file's version of a claim wins)."""
    if not inbox.is_dir():
        return []
    found = [p for p in inbox.iterdir() if p.is_file() and p.suffix.lower() in EXPORT_SUFFIXES]
    found = [p for p in found if not p.name.startswith((".", "~$"))]
    return sorted(found, key=lambda p: (p.stat().st_mtime, p.name))


def describe_inputs(paths: list[Path], role: str) -> pd.DataFrame:
    rows = []
    for path in paths:
        if not path.is_file():
            raise UnreadableFileError(path, "file not found; check the path.")
        rows.append({"role": role, "file_name": path.name, "path": str(path.resolve()), "sha256": sha256_file(path)})
    return pd.DataFrame(rows, columns=["role", "file_name", "path", "sha256"])
