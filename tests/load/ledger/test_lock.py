"""The run lock and racing runs, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from load.errors import AlreadySentError, RunLockedError
from load.ledger.database import open_ledger
from load.ledger.lock import acquire_run_lock, release_run_lock
from load.ledger.runs import finish_run
from load.ledger.tables import run_lock
from tests.factories import claim
from tests.load.ledger.pipeline import commit, count, prepare_run, record_run, table


def _holder(engine) -> str | None:
    with engine.connect() as conn:
        return conn.execute(sa.select(run_lock.c.run_id)).scalar()


def test_one_holder_at_a_time_and_a_clear_message(engine):
    acquire_run_lock(engine, "run-a")
    with pytest.raises(RunLockedError, match=r"another run \(run-a on .*\) holds the run lock"):
        acquire_run_lock(engine, "run-b")
    assert _holder(engine) == "run-a"
    release_run_lock(engine, "run-a")
    acquire_run_lock(engine, "run-b")
    assert _holder(engine) == "run-b"


def test_a_waiting_run_gets_the_lock_when_it_is_released(engine):
    acquire_run_lock(engine, "run-a")
    releaser = threading.Timer(1.0, release_run_lock, args=(engine, "run-a"))
    releaser.start()
    started = time.monotonic()
    acquire_run_lock(engine, "run-b", wait_seconds=30)
    assert 0.8 < time.monotonic() - started < 25
    assert _holder(engine) == "run-b"
    releaser.join()


def test_a_lock_left_by_a_dead_process_is_taken_over(engine):
    record_run(engine, "dead-run")
    with engine.begin() as conn:
        conn.execute(
            run_lock.insert().values(
                lock_id=1,
                run_id="dead-run",
                host=socket.gethostname(),
                pid=2**22 + 12345,
                acquired_at=datetime.now(UTC),
            )
        )
    acquire_run_lock(engine, "new-run")
    assert _holder(engine) == "new-run"


@pytest.fixture
def sqlite_engine(tmp_path):
    engine = open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    yield engine
    engine.dispose()


def test_a_lock_of_a_finished_run_is_taken_over_but_a_live_one_is_not(sqlite_engine):
    # On SQLite the row is the lock. On PostgreSQL the advisory lock is, and a row alone holds
    # nothing (test_lock_postgres.py).
    engine = sqlite_engine
    record_run(engine, "live-run")
    with engine.begin() as conn:  # this very process: alive
        conn.execute(
            run_lock.insert().values(
                lock_id=1, run_id="live-run", host=socket.gethostname(), pid=os.getpid(), acquired_at=datetime.now(UTC)
            )
        )
    with pytest.raises(RunLockedError):
        acquire_run_lock(engine, "new-run")
    finish_run(engine, "live-run", status="failed", counts=None, error="boom")
    acquire_run_lock(engine, "new-run")
    assert _holder(engine) == "new-run"


def _locked_run(engine, folder, rows, outcome: dict, barrier: threading.Barrier) -> None:
    """What the flow does: lock, read, judge, load, release; each racer on its own engine."""
    run_id = str(uuid.uuid4())
    barrier.wait(60)
    try:
        acquire_run_lock(engine, run_id, wait_seconds=60)
        try:
            commit(engine, prepare_run(engine, folder, rows))
            outcome[run_id] = "loaded"
        finally:
            release_run_lock(engine, run_id)
    except Exception as exc:  # recorded for the assertions below
        outcome[run_id] = repr(exc)
    finally:
        engine.dispose()


def test_two_runs_started_at_once_send_once(engine, ledger_url, tmp_path):
    rows = [claim(**{"Claim ID": f"RACE-{i}"}) for i in range(20)]
    outcome: dict[str, str] = {}
    barrier = threading.Barrier(2)
    # Engines opened here: Alembic's upgrade is not thread-safe (runs are processes in production).
    engines = [open_ledger(ledger_url) for _ in range(2)]
    racers = [
        threading.Thread(target=_locked_run, args=(engines[i], tmp_path / str(i), rows, outcome, barrier))
        for i in range(2)
    ]
    for i, racer in enumerate(racers):
        (tmp_path / str(i)).mkdir()
        racer.start()
    for racer in racers:
        racer.join(120)
    # The lock serialises them: the second reads the ledger after the first committed and skips the
    # export it already ingested.
    assert sorted(outcome.values()) == ["loaded", "loaded"], outcome
    assert count(engine, "batches") == 1
    sent = table(engine, "sent_rows")
    assert len(sent) == 20 and sorted(sent["claim_id"]) == sorted(r["Claim ID"] for r in rows)
    assert not sent.duplicated(["claim_id", "action", "version"]).any()
    assert table(engine, "run_outcomes")["outcome"].value_counts().to_dict() == {"submitted": 20}
    notes = table(engine, "run_files", "WHERE role = 'export'")["note"]
    assert notes.isna().sum() == 1 and notes.str.startswith("skipped: already ingested by run ").sum() == 1
    assert count(engine, "ingested_exports") == 1


def test_without_the_lock_the_unique_keys_stop_a_racing_double_send(engine, ledger_url, tmp_path):
    rows = [claim(**{"Claim ID": f"DUP-{i}"}) for i in range(30)]
    # Both judged against the same empty ledger: both plan to send all 30.
    first, second = prepare_run(engine, tmp_path, rows), prepare_run(engine, tmp_path, rows)
    assert len(first.plans[0].rows) == len(second.plans[0].rows) == 30
    results: dict[str, str] = {}
    barrier = threading.Barrier(2)

    racers = {first.run_id: open_ledger(ledger_url), second.run_id: open_ledger(ledger_url)}

    def load(run) -> None:
        racer = racers[run.run_id]
        barrier.wait(60)
        try:
            commit(racer, run)
            results[run.run_id] = "committed"
        except AlreadySentError:
            results[run.run_id] = "refused"
        finally:
            racer.dispose()

    threads = [threading.Thread(target=load, args=(run,)) for run in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert sorted(results.values()) == ["committed", "refused"], results
    winner = next(r for r, v in results.items() if v == "committed")
    assert count(engine, "batches") == 1 and count(engine, "sent_rows") == 30
    assert set(table(engine, "run_outcomes")["run_id"]) == {winner}
    assert count(engine, "ingested_exports") == 1
