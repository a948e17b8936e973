"""Opening the ledger: engine settings per database, schema created or upgraded by Alembic."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from load.errors import RetriableLoadError

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
SQLITE_BUSY_MS = 30_000


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        database = sa.engine.make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        # hide_parameters: a failed statement's message must never carry learner identity.
        engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_MS / 1000}, hide_parameters=True)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, hide_parameters=True)


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # WAL lets `status` read while a run writes; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=FULL")
    # A big page cache keeps index pages of a million-row load in memory (the default is 2 MB).
    cursor.execute("PRAGMA cache_size=-262144")
    cursor.close()


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that holds the database's write lock from its first statement on SQLite.

    SQLite starts a transaction deferred: one that read first and then writes cannot upgrade
    once another writer committed meanwhile, and fails at once instead of waiting; and the
    driver runs DDL outside any transaction. BEGIN IMMEDIATE makes such writers queue (busy
    timeout) and keeps a migration atomic. PostgreSQL needs nothing of the kind.
    """
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        yield conn


def _current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade_schema(engine: Engine, revision: str = "head") -> None:
    """Create the schema on first use, or upgrade an older ledger in place."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if revision == "head" and _current_revision(engine) == ScriptDirectory.from_config(config).get_current_head():
        return  # the usual case, answered by a read: no write lock while another run is loading
    for attempt in range(3):
        try:
            with write_transaction(engine) as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
            return
        except sa.exc.OperationalError as exc:
            # Two first runs racing to create the schema: the loser retries and finds it there.
            if attempt == 2:
                raise RetriableLoadError(f"could not prepare the ledger schema: {exc.orig}") from None
            time.sleep(0.5 * (attempt + 1))
        except sa.exc.ProgrammingError:
            if attempt == 2:
                raise
            time.sleep(0.5 * (attempt + 1))


def open_ledger(url: str, *, migrate: bool = True) -> Engine:
    engine = make_engine(url)
    if migrate:
        upgrade_schema(engine)
    return engine


def redact_url(url: str) -> str:
    """The database URL with any password hidden: safe for logs and reports."""
    return sa.engine.make_url(url).render_as_string(hide_password=True)
