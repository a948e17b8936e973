"""A throw-away PostgreSQL server for tests: `initdb --auth=trust` and `pg_ctl` in a temporary folder.

It listens on a Unix socket only, in a time zone other than UTC (so a time read back in the
session's zone would show). Without PostgreSQL's binaries the PostgreSQL cases are skipped with
the reason, except in CI (`CI=true`), where they fail: CI must run them (`.ci/run` installs
Debian's postgresql when it is missing).
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

PG_USER = "postgres"
_databases = itertools.count(1)


def find_pg_binary(name: str) -> str | None:
    """`initdb`/`pg_ctl` on PATH, else in Debian's versioned folder (the newest version)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    return candidates[-1] if candidates else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """A throw-away cluster. PostgreSQL refuses to run as root: as root, its files belong to the
    `postgres` user and its commands run through `runuser`."""

    def __init__(self, initdb: str) -> None:
        self.bin = Path(initdb).resolve().parent
        self.root = Path(tempfile.mkdtemp(prefix="cme-relay-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            try:
                account = pwd.getpwnam(PG_USER)
            except KeyError:
                raise RuntimeError("running as root and there is no `postgres` user to run PostgreSQL as") from None
            os.chown(self.root, account.pw_uid, account.pw_gid)
            self.as_user = ["runuser", "-u", PG_USER, "--"]
        self.root.chmod(0o700)

    def _run(self, *args: str) -> None:
        done = subprocess.run([*self.as_user, *args], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} failed ({done.returncode}): {done.stderr.strip()[-1500:]}")

    def start(self) -> None:
        self._run(str(self.bin / "initdb"), "--auth=trust", "-U", PG_USER, "-E", "UTF8", "-D", str(self.data))
        # A time zone other than UTC, so a time read back in the session's zone would show.
        options = f"-k {self.root} -p {self.port} -c listen_addresses='' -c fsync=off -c timezone=America/New_York"
        self._run(
            str(self.bin / "pg_ctl"), "-w", "-D", str(self.data), "-l", str(self.root / "log"), "-o", options, "start"
        )

    def stop(self) -> None:
        try:
            self._run(str(self.bin / "pg_ctl"), "-w", "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{PG_USER}@/{database}?host={self.root}&port={self.port}"


@contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """Start a server for the session; skip (or, in CI, fail) when PostgreSQL is not installed."""
    initdb = find_pg_binary("initdb")
    if initdb is None:
        reason = "PostgreSQL's initdb was not found on PATH nor in /usr/lib/postgresql/*/bin"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI must run the PostgreSQL ledger tests (.ci/run installs postgresql)")
        pytest.skip(reason)
    server = PostgresServer(initdb)
    try:
        server.start()
    except Exception:
        server.stop()
        raise
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def fresh_database(server: PostgresServer) -> Iterator[str]:
    """A new, empty database on `server`; its URL. Dropped afterwards."""
    name = f"cme_{os.getpid()}_{next(_databases)}"
    admin = sa.create_engine(server.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield server.url(name)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()
