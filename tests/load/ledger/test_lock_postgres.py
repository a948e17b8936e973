"""The run lock on PostgreSQL: a session-level advisory lock, freed when its holder dies anywhere.

The holder runs in another process that claims to be on another host (its `gethostname` is
patched), which is the case the row lock alone cannot judge: a pid on another machine cannot be
checked, so the row would hold until someone closed the run by hand.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from load.errors import RunLockedError
from load.ledger.database import open_ledger
from load.ledger.lock import ADVISORY_KEY, _stale, acquire_run_lock, release_run_lock
from load.ledger.tables import run_lock
from tests.load.ledger.pipeline import record_run

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[3]
OTHER_HOST = "worker-host-b"

# Takes the lock as a run on another host would, says so, then releases it when told (or is killed).
HOLDER = f"""
import socket, sys
socket.gethostname = lambda: {OTHER_HOST!r}
from load.ledger.database import open_ledger
from load.ledger.lock import acquire_run_lock, release_run_lock
engine = open_ledger(sys.argv[1])
acquire_run_lock(engine, sys.argv[2])
print("held", flush=True)
if sys.stdin.readline().strip() == "release":
    release_run_lock(engine, sys.argv[2])
    print("released", flush=True)
"""


@pytest.fixture
def pg_engine(postgres_url):
    engine = open_ledger(postgres_url)
    yield engine
    engine.dispose()


def _row(engine) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(run_lock)).mappings().one())


def _advisory_holders(engine) -> int:
    """Sessions holding the run lock's advisory lock, as the server sees them."""
    with engine.connect() as conn:
        return conn.execute(
            sa.text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                "AND ((classid::bigint << 32) | objid::bigint) = :key"
            ),
            {"key": ADVISORY_KEY},
        ).scalar_one()


def _start_holder(url: str, run_id: str) -> subprocess.Popen:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, url, run_id],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = holder.stdout.readline()  # type: ignore[union-attr]
    if line.strip() != "held":
        holder.kill()
        raise AssertionError(f"the holder did not take the lock: {line!r} {holder.stderr.read()[-2000:]}")  # type: ignore[union-attr]
    return holder


def test_a_holder_on_another_host_killed_frees_the_lock_at_once(pg_engine, postgres_url):
    record_run(pg_engine, "crashed-run")
    holder = _start_holder(postgres_url, "crashed-run")
    try:
        left = _row(pg_engine)
        assert (left["run_id"], left["host"], left["pid"]) == ("crashed-run", OTHER_HOST, holder.pid)
        assert _advisory_holders(pg_engine) == 1
        with pytest.raises(RunLockedError, match=rf"crashed-run on {OTHER_HOST}"):
            acquire_run_lock(pg_engine, "new-run")
        holder.send_signal(signal.SIGKILL)
        holder.wait(30)
    finally:
        holder.kill()
    # The row still names the dead run, on a host this process cannot look into: the row's rule
    # (same host, pid gone; or run finished) would keep it. The server dropped the advisory lock.
    assert _row(pg_engine)["run_id"] == "crashed-run"
    assert not _stale(left, "running", socket.gethostname())
    started = time.monotonic()
    acquire_run_lock(pg_engine, "new-run", wait_seconds=10)
    assert time.monotonic() - started < 3
    now = _row(pg_engine)
    assert (now["run_id"], now["host"]) == ("new-run", socket.gethostname())
    release_run_lock(pg_engine, "new-run")
    assert _advisory_holders(pg_engine) == 0


def test_while_held_elsewhere_a_second_run_fails_or_waits_for_the_release(pg_engine, postgres_url):
    holder = _start_holder(postgres_url, "holding-run")
    try:
        with pytest.raises(RunLockedError, match=rf"another run \(holding-run on {OTHER_HOST}, pid {holder.pid}"):
            acquire_run_lock(pg_engine, "second-run")
        started = time.monotonic()
        with pytest.raises(RunLockedError):
            acquire_run_lock(pg_engine, "second-run", wait_seconds=1.2)
        assert time.monotonic() - started >= 1.2
        assert _row(pg_engine)["run_id"] == "holding-run"

        holder.stdin.write("release\n")  # type: ignore[union-attr]
        holder.stdin.flush()  # type: ignore[union-attr]
        started = time.monotonic()
        acquire_run_lock(pg_engine, "second-run", wait_seconds=30)
        assert time.monotonic() - started < 10
        assert holder.stdout.readline().strip() == "released"  # type: ignore[union-attr]
        assert holder.wait(30) == 0
    finally:
        holder.kill()
    assert _row(pg_engine)["run_id"] == "second-run"
    release_run_lock(pg_engine, "second-run")


def test_a_row_without_its_advisory_lock_holds_nothing(pg_engine):
    # A row naming a run that is "running" on another host, with no session behind it: what a run
    # crashed on another host leaves. It is overwritten at once, without asking about host or pid.
    record_run(pg_engine, "ghost-run")
    with pg_engine.begin() as conn:
        conn.execute(
            run_lock.insert().values(
                lock_id=1, run_id="ghost-run", host=OTHER_HOST, pid=4242, acquired_at=datetime.now(UTC)
            )
        )
    acquire_run_lock(pg_engine, "new-run")
    assert _row(pg_engine)["run_id"] == "new-run"
    release_run_lock(pg_engine, "new-run")


def test_release_ends_the_lock_session(pg_engine):
    acquire_run_lock(pg_engine, "run-a")
    with pg_engine.connect() as conn:
        sessions = conn.execute(
            sa.text("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'cme-relay lock run-a'")
        ).scalar_one()
    assert sessions == 1 and _advisory_holders(pg_engine) == 1
    release_run_lock(pg_engine, "run-a")
    assert _advisory_holders(pg_engine) == 0
    with pg_engine.connect() as conn:
        left = conn.execute(
            sa.text("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'cme-relay lock%'")
        ).scalar_one()
    assert left == 0
    assert _row(pg_engine)["run_id"] is None
