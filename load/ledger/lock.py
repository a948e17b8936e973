"""The run lock: a row in the ledger that says who holds it, and on PostgreSQL an advisory lock.

SQLite (one machine): the row is the lock. A row left by a process that died (same host, pid
gone) or by a run the ledger shows as finished is stale and is taken over.

PostgreSQL (workers on several machines): a process cannot tell whether a run on another host
is alive, so the row alone would keep a crashed run's lock until someone closed it by hand. The
lock that excludes is a session-level `pg_try_advisory_lock` held by a connection of its own for
the run's duration: the server drops it when that session ends, whether the run released it,
its process died or its host vanished (TCP keepalives on that connection bound how long the
server takes to notice). Whoever holds the advisory lock owns the row and overwrites it; the
row stays for humans (`status`, the lock error's message) and for SQLite.

The unique keys remain the last line of defence either way.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from load.errors import RunLockedError
from load.ledger.database import write_transaction
from load.ledger.tables import run_lock, runs

LOCK_ID = 1
POLL_SECONDS = 0.5
# One key per ledger database (advisory locks are scoped to the database): "cmerelay" in ASCII.
ADVISORY_KEY = 0x636D6572656C6179
# The server closes the lock's session (and frees the lock) about 60 s after the holder's host
# stops answering, instead of the operating system's default of over two hours.
KEEPALIVES = {"tcp_keepalives_idle": "30", "tcp_keepalives_interval": "10", "tcp_keepalives_count": "3"}

# Advisory lock sessions held by this process, by run id.
_sessions: dict[str, Connection] = {}
_sessions_guard = threading.Lock()


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


def _me(run_id: str) -> dict:
    return {"run_id": run_id, "host": socket.gethostname(), "pid": os.getpid(), "acquired_at": datetime.now(UTC)}


def _read_holder(engine: Engine) -> tuple[dict | None, str | None]:
    with engine.connect() as conn:
        holder = conn.execute(sa.select(run_lock).where(run_lock.c.lock_id == LOCK_ID)).mappings().first()
        if holder is None or holder["run_id"] is None:
            return (dict(holder) if holder else None), None
        status = conn.execute(sa.select(runs.c.status).where(runs.c.run_id == holder["run_id"])).scalar()
        return dict(holder), status


def _ensure_row(conn: Connection) -> None:
    if conn.execute(sa.select(run_lock.c.lock_id).where(run_lock.c.lock_id == LOCK_ID)).first() is None:
        try:
            with conn.begin_nested():
                conn.execute(run_lock.insert().values(lock_id=LOCK_ID, run_id=None))
        except sa.exc.IntegrityError:
            pass  # a racer inserted it first


def _try_acquire(engine: Engine, run_id: str) -> dict | None:
    """The row lock (SQLite). None when acquired; otherwise the holder's row."""
    me = _me(run_id)
    host = me["host"]
    # A live holder is answered by a read: on SQLite the holder may be mid-load with the write lock
    # held, and a writer here would queue behind it for the whole busy timeout.
    seen, seen_status = _read_holder(engine)
    if seen is not None and seen["run_id"] is not None and not _stale(seen, seen_status, host):
        return seen
    try:
        with write_transaction(engine) as conn:
            _ensure_row(conn)
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


def _open_lock_session(engine: Engine, run_id: str) -> Connection:
    """A connection outside the engine's pool: closing it ends the session, and with it the lock."""
    connect_args = {} if "application_name" in engine.url.query else {"application_name": f"cme-relay lock {run_id}"}
    session = sa.create_engine(
        engine.url, poolclass=NullPool, isolation_level="AUTOCOMMIT", connect_args=connect_args
    ).connect()
    try:
        settings = dict(KEEPALIVES)
        if session.dialect.server_version_info and session.dialect.server_version_info >= (14,):
            settings["idle_session_timeout"] = "0"  # an idle lock session must not be timed out
        for name, value in settings.items():
            session.execute(sa.select(sa.func.set_config(name, value, False)))
    except BaseException:
        session.close()
        raise
    return session


def _acquire_advisory(engine: Engine, run_id: str, wait_seconds: float) -> None:
    deadline = time.monotonic() + wait_seconds
    session = _open_lock_session(engine, run_id)
    try:
        while not session.execute(sa.select(sa.func.pg_try_advisory_lock(ADVISORY_KEY))).scalar_one():
            if time.monotonic() >= deadline:
                holder, _ = _read_holder(engine)
                if holder is None or holder["run_id"] is None:  # between its lock and its row
                    holder = {"run_id": "(a run starting)", "host": None, "pid": None, "acquired_at": None}
                raise RunLockedError(holder["run_id"], holder["host"], holder["pid"], holder["acquired_at"])
            time.sleep(POLL_SECONDS)
        # Holding the advisory lock makes the row ours, whatever it says: its holder's session is
        # gone, so that run is not running any more, on this host or another.
        with engine.begin() as conn:
            _ensure_row(conn)
            conn.execute(run_lock.update().where(run_lock.c.lock_id == LOCK_ID).values(**_me(run_id)))
    except BaseException:
        session.close()
        raise
    with _sessions_guard:
        _sessions[run_id] = session


def acquire_run_lock(engine: Engine, run_id: str, *, wait_seconds: float = 0.0) -> None:
    """Take the run lock, waiting up to `wait_seconds` for its holder; RunLockedError otherwise."""
    if engine.dialect.name == "postgresql":
        _acquire_advisory(engine, run_id, wait_seconds)
        return
    deadline = time.monotonic() + wait_seconds
    while True:
        holder = _try_acquire(engine, run_id)
        if holder is None:
            return
        if time.monotonic() >= deadline:
            raise RunLockedError(holder["run_id"], holder["host"], holder["pid"], holder["acquired_at"])
        time.sleep(POLL_SECONDS)


def release_run_lock(engine: Engine, run_id: str) -> None:
    """Clear the row, then (PostgreSQL) end the advisory lock's session."""
    with _sessions_guard:
        session = _sessions.pop(run_id, None)
    try:
        with engine.begin() as conn:
            conn.execute(run_lock.update().where(run_lock.c.run_id == run_id).values(run_id=None, pid=None))
    finally:
        if session is not None:
            try:
                session.execute(sa.select(sa.func.pg_advisory_unlock(ADVISORY_KEY)))
            except sa.exc.DBAPIError:
                pass  # the session is already gone, and the lock with it
            finally:
                session.close()
