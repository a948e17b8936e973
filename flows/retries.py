"""Which failures a task retries: transient database trouble, never a data problem."""

from __future__ import annotations

from load.errors import RetriableLoadError

TRANSIENT_DB_MESSAGES = (
    "database is locked",
    "database is busy",
    "database table is locked",
    "server closed the connection",
    "connection refused",
    "connection reset",
    "could not connect",
    "terminating connection",
    "connection timed out",
)


def is_transient(exc: BaseException) -> bool:
    """A failure worth retrying: a locked SQLite file or a dropped/refused database connection."""
    if isinstance(exc, RetriableLoadError):
        return True
    import sqlalchemy as sa

    if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, sa.exc.DisconnectionError):
        return True
    if isinstance(exc, sa.exc.OperationalError):
        return any(m in str(exc.orig).lower() for m in TRANSIENT_DB_MESSAGES)
    return False


def retriable(task, task_run, state) -> bool:  # type: ignore[no-untyped-def]
    # Only transient failures are retried; a data problem is an outcome, never a retry.
    try:
        state.result()
    except Exception as exc:
        return is_transient(exc)
    return False
