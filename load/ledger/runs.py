"""Run records: started, finished, failed, and the repair of a run that died mid-way."""

from __future__ import annotations

import os
import socket
from datetime import UTC, date, datetime

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from load.ledger.bulk import read_frame
from load.ledger.tables import batches, run_files, runs, sent_rows
from schemas.registry_row import REGISTRY_FIELDS


def start_run(
    engine: Engine,
    *,
    run_id: str,
    trigger: str,
    triggered_by: str,
    as_of: date,
    cutoff: date,
    code_version: str,
    dry_run: bool,
) -> datetime:
    started = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            runs.insert().values(
                run_id=run_id,
                trigger=trigger,
                triggered_by=triggered_by,
                started_at=started,
                as_of=as_of,
                status="running",
                dry_run=dry_run,
                code_version=code_version,
                cutoff=cutoff,
                host=socket.gethostname(),
                pid=os.getpid(),
            )
        )
    return started


def finish_run(engine: Engine, run_id: str, *, status: str, counts: dict | None, error: str | None) -> datetime:
    finished = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            runs.update()
            .where(runs.c.run_id == run_id)
            .values(status=status, finished_at=finished, counts=counts, error=error)
        )
    return finished


def record_output_files(engine: Engine, run_id: str, files: list[dict]) -> None:
    if files:
        with engine.begin() as conn:
            conn.execute(run_files.insert(), [{"run_id": run_id, **f} for f in files])


def unfinished_batches(engine: Engine) -> pd.DataFrame:
    """Batches whose load committed but whose file was never confirmed written."""
    with engine.connect() as conn:
        return read_frame(conn, sa.select(batches).where(batches.c.status == "committed").order_by(batches.c.batch_id))


def run_batches(engine: Engine, run_id: str) -> pd.DataFrame:
    """A run's batches, in part order."""
    with engine.connect() as conn:
        return read_frame(conn, sa.select(batches).where(batches.c.run_id == run_id).order_by(batches.c.part))


def batch_rows(engine: Engine, batch_id: str) -> tuple[pd.DataFrame, datetime]:
    with engine.connect() as conn:
        created = conn.execute(sa.select(batches.c.created_at).where(batches.c.batch_id == batch_id)).scalar_one()
        rows = read_frame(
            conn,
            sa.select(sent_rows.c.claim_id, *[sent_rows.c[f] for f in REGISTRY_FIELDS])
            .where(sent_rows.c.batch_id == batch_id)
            .order_by(sent_rows.c.row_no),
        )
    # The file's timestamp is this time in UTC: SQLite hands it back naive (stored as UTC),
    # PostgreSQL in the session's time zone; either way the rebuilt file must match the first.
    created = created.replace(tzinfo=UTC) if created.tzinfo is None else created.astimezone(UTC)
    return rows, created


def close_interrupted_runs(engine: Engine, by_run_id: str) -> list[str]:
    """Mark runs left `running` by a dead process as failed; the caller holds the run lock."""
    with engine.begin() as conn:
        stale = [
            r
            for (r,) in conn.execute(
                sa.select(runs.c.run_id).where(runs.c.status == "running", runs.c.run_id != by_run_id)
            )
        ]
        if stale:
            conn.execute(
                runs.update()
                .where(runs.c.run_id.in_(stale))
                .values(
                    status="failed",
                    finished_at=datetime.now(UTC),
                    error=f"interrupted before it finished; recovered by run {by_run_id}",
                )
            )
    return stale


def record_archived_paths(engine: Engine, run_id: str, moves: dict[str, str]) -> None:
    """After the inbox files moved to the archive, the run's input records point to where they are."""
    if not moves:
        return
    with engine.begin() as conn:
        for old, new in moves.items():
            conn.execute(
                run_files.update()
                .where(run_files.c.run_id == run_id, run_files.c.role == "export", run_files.c.path == old)
                .values(path=new)
            )
