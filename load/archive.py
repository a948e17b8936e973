"""Moving processed exports out of the inbox: into an archive folder named by run, never deleted."""

from __future__ import annotations

import os
from pathlib import Path


def archive_exports(paths: list[Path], archive: Path, run_id: str) -> list[Path]:
    target = archive / run_id
    moved = []
    for path in paths:
        target.mkdir(parents=True, exist_ok=True)
        destination = target / path.name
        os.replace(path, destination)
        moved.append(destination)
    return moved
