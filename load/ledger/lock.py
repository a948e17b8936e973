"""The run lock: one row in the ledger, so it works the same on SQLite and PostgreSQL.

A lock left by a process that died (same host, pid gone) or by a run the ledger shows as
finished is stale and is taken over; the unique keys remain the last line of defence.
"""

from __future__ import annotations

import os
import socket
import time
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from load.errors import RunLockedError
from load.ledger.database import write_transaction
from load.ledger.tables import run_lock, runs

LOCK_ID = 1
POLL_SECONDS = 0.5


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stale(holder: dict, holder_status: str | None, host: str) -> bool:
    return holder_status in ("succeeded", "failed") or (holder["host"] == host and not _pid_alive(holder["pid"]))


def _read_holder(engine: Engine) -> tuple[dict | None, str | None]:
    with engine.connect() as conn:
        holder = conn.execute(sa.select(run_lock).where(run_lock.c.lock_id == LOCK_ID)).mappings().first()
        if holder is None or holder["run_id"] is None:
            return (dict(holder) if holder else None), None
        status = conn.execute(sa.select(runs.c.status).where(runs.c.run_id == holder["run_id"])).scalar()
        return dict(holder), status


def _try_acquire(engine: Engine, run_id: str) -> dict | None:
    """None when acquired; otherwise the holder's row."""
    host = socket.gethostname()
    me = {"run_id": run_id, "host": host, "pid": os.getpid(), "acquired_at": datetime.now(UTC)}
    # A live holder is answered by a read: on SQLite the holder may be mid-load with the write lock
    # held, and a writer here would queue behind it for the whole busy timeout.
    seen, seen_status = _read_holder(engine)
    if seen is not None and seen["run_id"] is not None and not _stale(seen, seen_status, host):
        return seen
    try:
        with write_transaction(engine) as conn:
            if conn.execute(sa.select(run_lock.c.lock_id).where(run_lock.c.lock_id == LOCK_ID)).first() is None:
                try:
                    with conn.begin_nested():
                        conn.execute(run_lock.insert().values(lock_id=LOCK_ID, run_id=None))
                except sa.exc.IntegrityError:
                    pass  # a racer inserted it first: the update below decides
            taken = conn.execute(
                run_lock.update().where(run_lock.c.lock_id == LOCK_ID, run_lock.c.run_id.is_(None)).values(**me)
            )
            if taken.rowcount == 1:
                return None
            holder = conn.execute(sa.select(run_lock).where(run_lock.c.lock_id == LOCK_ID)).mappings().one()
            holder_status = conn.execute(sa.select(runs.c.status).where(runs.c.run_id == holder["run_id"])).scalar()
            if _stale(dict(holder), holder_status, host):
                moved = conn.execute(
                    run_lock.update()
                    .where(run_lock.c.lock_id == LOCK_ID, run_lock.c.run_id == holder["run_id"])
                    .values(**me)
                )
                if moved.rowcount == 1:
                    return None
            return dict(holder)
    except sa.exc.OperationalError:
        # SQLite's write lock busy past its timeout: a run is writing, so treat the lock as held.
        busy, _ = _read_holder(engine)
        if busy is None or busy["run_id"] is None:
            return {"run_id": "(a run writing to the ledger)", "host": None, "pid": None, "acquired_at": None}
        return busy


def acquire_run_lock(engine: Engine, run_id: str, *, wait_seconds: float = 0.0) -> None:
    deadline = time.monotonic() + wait_seconds
    while True:
        holder = _try_acquire(engine, run_id)
        if holder is None:
            return
        if time.monotonic() >= deadline:
            raise RunLockedError(holder["run_id"], holder["host"], holder["pid"], holder["acquired_at"])
        time.sleep(POLL_SECONDS)


def release_run_lock(engine: Engine, run_id: str) -> None:
    with engine.begin() as conn:
        conn.execute(run_lock.update().where(run_lock.c.run_id == run_id).values(run_id=None, pid=None))
