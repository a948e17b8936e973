"""Regenerating a batch's registry file from the ledger alone (audits, a lost or damaged file).

The file is a pure function of the rows sent and the batch's creation time, both kept in the
ledger, so the rebuild is byte-identical to the file first written; its SHA-256 is compared
with the one stored when that file was written.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from load.errors import LoadError
from load.ledger.runs import batch_rows
from load.ledger.tables import batches
from load.registry_file import write_registry_batch


class UnknownBatchError(LoadError):
    """The ledger has no batch with this id."""


def stored_batch(engine: Engine, batch_id: str) -> dict:
    with engine.connect() as conn:
        row = conn.execute(sa.select(batches).where(batches.c.batch_id == batch_id)).mappings().first()
    if row is None:
        raise UnknownBatchError(f"the ledger has no batch {batch_id!r}")
    return dict(row)


def rebuild_batch_file(engine: Engine, batch_id: str, out_dir: Path) -> tuple[Path, str]:
    """Write batch `batch_id` again into `out_dir` under its file name; returns (path, sha256)."""
    batch = stored_batch(engine, batch_id)
    rows, created_at = batch_rows(engine, batch_id)
    path = Path(out_dir) / batch["file_name"]
    return path, write_registry_batch(path, rows, created_at)
