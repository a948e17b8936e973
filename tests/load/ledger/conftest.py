"""Ledger fixtures: a fresh SQLite file or a fresh database on a throw-away PostgreSQL server.

The PostgreSQL server (see pgserver.py) is started by the tests themselves, once per session.
Without PostgreSQL's binaries its cases are skipped with the reason, but fail in CI (`CI=true`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from load.ledger.database import open_ledger
from tests.load.ledger.pgserver import PostgresServer, fresh_database, running_postgres


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    with running_postgres() as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database on the session's server."""
    with fresh_database(postgres_server) as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty ledger database: a SQLite file, or a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def engine(ledger_url: str) -> Iterator[Engine]:
    """A ledger at the head revision (created the way a first run creates it)."""
    engine = open_ledger(ledger_url)
    yield engine
    engine.dispose()
