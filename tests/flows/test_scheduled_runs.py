"""Issue 5: a scheduled run's date, the inbox and its archive, and which failures are retried."""

from __future__ import annotations

import os
import sqlite3
from datetime import date, datetime
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
import sqlalchemy as sa

from extract.errors import MissingColumnsError
from flows.context import resolve_as_of
from load.errors import RetriableLoadError
from tests.conftest import SAMPLES

PACIFIC = ZoneInfo("America/Los_Angeles")


@pytest.mark.parametrize(
    "scheduled",
    [
        datetime(2026, 11, 26, 7, 0, tzinfo=PACIFIC),  # the 07:00 run itself
        datetime.fromisoformat("2026-11-26T07:00:00-08:00"),  # as Prefect hands it back (fixed offset)
        datetime.fromisoformat("2026-11-26T15:00:00+00:00"),  # or in UTC
    ],
)
def test_as_of_is_the_scheduled_day_even_when_started_after_midnight(monkeypatch, scheduled):
    from prefect.runtime import flow_run

    # The worker picked the run up at 00:30 the next day; only the scheduled start counts.
    monkeypatch.setattr(flow_run, "scheduled_start_time", scheduled, raising=False)
    assert resolve_as_of(None, "America/Los_Angeles") == date(2026, 11, 26)
    assert resolve_as_of("2026-12-01", "America/Los_Angeles") == date(2026, 12, 1)  # --as-of wins


def test_as_of_uses_the_office_time_zone_not_utc(monkeypatch):
    from prefect.runtime import flow_run

    late_evening = datetime.fromisoformat("2026-11-26T23:30:00-08:00")  # already the 27th in UTC
    monkeypatch.setattr(flow_run, "scheduled_start_time", late_evening, raising=False)
    assert resolve_as_of(None, "America/Los_Angeles") == date(2026, 11, 26)
    assert resolve_as_of(None, "UTC") == date(2026, 11, 27)


@pytest.mark.flow
def test_a_scheduled_flow_run_takes_its_date_from_the_schedule(prefect_harness, workspace):
    """A real flow run created as Scheduled for a past Thursday 07:00 and run now."""
    from prefect.client.orchestration import get_client
    from prefect.flow_engine import run_flow
    from prefect.states import Scheduled

    from flows.credit_reporting import credit_reporting, run_summary

    scheduled = datetime(2026, 11, 12, 7, 0, tzinfo=PACIFIC)
    with get_client(sync_client=True) as client:
        created = client.create_flow_run(
            credit_reporting, parameters={"trigger": "schedule"}, state=Scheduled(scheduled_time=scheduled)
        )
    state = run_flow(credit_reporting, flow_run=created, parameters={"trigger": "schedule"}, return_type="state")
    summary = run_summary(state)
    assert summary["status"] == "succeeded", summary["error"]
    assert summary["as_of"] == "2026-11-12"
    engine = sa.create_engine(os.environ["CME_RELAY_DATABASE_URL"])
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT as_of, trigger FROM runs WHERE run_id = :r"), {"r": summary["run_id"]}).one()
    assert (str(row.as_of), row.trigger) == ("2026-11-12", "schedule")


@pytest.mark.flow
def test_run_without_export_takes_the_inbox_and_archives_it(run_flow, workspace):
    inbox = workspace / "inbox"
    first_files = {
        name: (SAMPLES / name).read_bytes() for name in ("portal_export_biweekly.csv", "portal_export_cp1252.csv")
    }
    for name, data in first_files.items():
        (inbox / name).write_bytes(data)
    first = run_flow()
    assert first["status"] == "succeeded", first["error"]
    assert first["counts"]["input_rows"] == sum(
        len(pd.read_csv(SAMPLES / n, dtype=str, encoding_errors="replace")) for n in first_files
    )
    archived = inbox / "archive" / first["run_id"]
    assert {p.name: p.read_bytes() for p in archived.iterdir()} == first_files  # moved intact, not deleted
    assert not [p for p in inbox.iterdir() if p.is_file()]
    # The ledger's input records follow the files to the archive.
    ledger = sa.create_engine(f"sqlite:///{workspace / 'ledger.db'}")
    with ledger.connect() as conn:
        recorded = (
            conn.execute(
                sa.text("SELECT path FROM run_files WHERE run_id = :r AND role = 'export'"), {"r": first["run_id"]}
            )
            .scalars()
            .all()
        )
    assert sorted(recorded) == sorted(str((archived / n).resolve()) for n in first_files)

    # Next time: one new export, and the same biweekly bytes dropped again under another name.
    (inbox / "biweekly-again.csv").write_bytes(first_files["portal_export_biweekly.csv"])
    (inbox / "bom.csv").write_bytes((SAMPLES / "portal_export_utf8_bom.csv").read_bytes())
    second = run_flow()
    assert second["status"] == "succeeded", second["error"]
    # only the new export; the copy was ingested already
    assert second["counts"]["input_rows"] == len(pd.read_csv(SAMPLES / "portal_export_utf8_bom.csv", dtype=str))
    assert sorted(p.name for p in (inbox / "archive" / second["run_id"]).iterdir()) == ["biweekly-again.csv", "bom.csv"]
    assert sorted(p.name for p in archived.iterdir()) == sorted(first_files)
    assert not [p for p in inbox.iterdir() if p.is_file()]


@pytest.mark.flow
def test_a_failed_run_leaves_the_inbox_alone(run_flow, workspace):
    inbox = workspace / "inbox"
    bad = inbox / "missing_credits.csv"
    bad.write_bytes((SAMPLES / "portal_export_missing_required_column.csv").read_bytes())
    summary = run_flow()
    assert summary["status"] == "failed"
    assert bad.exists() and not (inbox / "archive" / summary["run_id"]).exists()


# Retries: the real tasks with their real retry condition, without the backoff wait.


def _fails_then_succeeds(errors: list[BaseException], calls: list[int]):  # type: ignore[no-untyped-def]
    def read_ledger_view(engine, run_keys=None):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return "ledger view"

    return read_ledger_view


def _run_read_ledger(monkeypatch, errors: list[BaseException]) -> tuple[object, int]:
    from prefect import flow

    import flows.credit_reporting as module

    calls: list[int] = []
    monkeypatch.setattr(module, "read_ledger_view", _fails_then_succeeds(errors, calls))
    task = module.read_ledger.with_options(retry_delay_seconds=0)

    states = []

    @flow
    def probe() -> None:
        states.append(
            task(SimpleNamespace(engine=None), pd.DataFrame(columns=["claim_id", "learner_id"]), return_state=True)
        )

    probe()
    return states[0], len(calls)


def _locked() -> sa.exc.OperationalError:
    return sa.exc.OperationalError("SELECT 1", {}, sqlite3.OperationalError("database is locked"))


@pytest.mark.flow
@pytest.mark.parametrize(
    "transient",
    [RetriableLoadError("ledger connection dropped"), _locked()],
    ids=["RetriableLoadError", "sqlite-locked"],
)
def test_transient_failures_are_retried_until_success(prefect_harness, monkeypatch, transient):
    state, calls = _run_read_ledger(monkeypatch, [transient, transient])
    assert state.is_completed()
    assert state.result() == "ledger view"
    assert calls == 3


@pytest.mark.flow
@pytest.mark.parametrize(
    "problem",
    [
        ValueError("credits is not a number"),
        MissingColumnsError(Path("export.csv"), ["credits"], {"credits": ("Credits",)}),
        sa.exc.IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE constraint failed")),
        sa.exc.OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: claims")),
    ],
    ids=["ValueError", "missing-column", "unique-key", "schema-error"],
)
def test_data_problems_are_never_retried(prefect_harness, monkeypatch, problem):
    state, calls = _run_read_ledger(monkeypatch, [problem])
    assert state.is_failed()
    assert calls == 1


def test_retry_condition_is_on_both_load_tasks():
    from flows.credit_reporting import _retriable, load_submission, read_ledger

    for task in (read_ledger, load_submission):
        assert task.retries == 3
        assert task.retry_condition_fn is _retriable
        assert list(task.retry_delay_seconds) == sorted(task.retry_delay_seconds)  # backoff grows
