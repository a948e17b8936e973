"""Migrations: the first run creates the schema; an older ledger is upgraded in place, rows kept."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from load.ledger.database import MIGRATIONS, make_engine, open_ledger, upgrade_schema
from load.ledger.tables import (
    batches,
    claims,
    ingested_exports,
    metadata,
    run_files,
    run_lock,
    run_outcomes,
    runs,
    sent_rows,
)
from schemas.portal_claim import CLAIM_FIELDS
from schemas.registry_row import REGISTRY_FIELDS

NOW = datetime(2026, 11, 12, 9, 30, tzinfo=UTC)
LONG_NOTE = "skipped: already ingested by run 0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9"  # 68 characters


def _head() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()


def _version(engine) -> str:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()


def _fill_first_schema(engine) -> dict[str, list[tuple]]:
    """Rows as a run under revision 0001 would have left them (each column 0001 knows)."""
    rows = {
        "runs": [
            dict(
                run_id="run-old",
                trigger="schedule",
                triggered_by="cme-office",
                started_at=NOW,
                finished_at=NOW,
                as_of=date(2026, 11, 12),
                status="succeeded",
                dry_run=False,
                code_version="0.1.0",
                cutoff=date(2023, 7, 1),
                counts={"counts": {"submitted": 1}},
                error=None,
                host="h",
                pid=1,
            )
        ],
        "ingested_exports": [dict(sha256="a" * 64, run_id="run-old", file_name="export.csv", rows=2)],
        "run_files": [
            dict(
                run_id="run-old",
                role="export",
                file_name="export.csv",
                path="/in/export.csv",
                sha256="a" * 64,
                rows=2,
                note="x" * 64,
            )
        ],
        "claims": [
            {
                **{f: f"{f}-{i}" for f in CLAIM_FIELDS},
                "claim_id": f"OLD-{i}",
                "source_file": "export.csv",
                "source_line": i + 2,
                "accme_activity_id": "202312345",
                "state": state,
                "reason": reason,
                "first_seen_run": "run-old",
                "first_seen_at": NOW,
                "state_changed_at": NOW,
                "delayed_since": NOW if state == "delayed" else None,
                "last_run_id": "run-old",
                "sent_version": version,
                "live": version > 0,
                "fingerprint": "f" * 20 if version else None,
            }
            for i, (state, reason, version) in enumerate(
                [("submitted", None, 1), ("delayed", "ACTIVITY_NOT_MAPPED", 0)]
            )
        ],
        "batches": [
            dict(
                batch_id="PARS-20261112-runold00-01",
                run_id="run-old",
                part=1,
                created_at=NOW,
                file_name="PARS-20261112-runold00-01.xlsx",
                sha256="b" * 64,
                rows=1,
                adds=1,
                deletes=0,
                status="written",
            )
        ],
        "sent_rows": [
            {
                **{f: f"{f}-0" for f in REGISTRY_FIELDS},
                "action": "Add",
                "batch_id": "PARS-20261112-runold00-01",
                "row_no": 1,
                "claim_id": "OLD-0",
                "version": 1,
            }
        ],
        "run_outcomes": [
            dict(
                run_id="run-old",
                seq=s,
                claim_id=f"OLD-{s}",
                outcome=o,
                reason=None,
                source_file="export.csv",
                source_line=s + 2,
                carried=False,
                accme_activity_id="202312345",
                credits=1.5,
            )
            for s, o in enumerate(["submitted", "delayed"])
        ],
        "run_lock": [dict(lock_id=1, run_id=None, host=None, pid=None, acquired_at=None)],
    }
    tables = {
        t.name: t for t in (runs, ingested_exports, run_files, claims, batches, sent_rows, run_outcomes, run_lock)
    }
    with engine.begin() as conn:
        for name, values in rows.items():
            conn.execute(tables[name].insert(), values)
    return _snapshot(engine)


def _snapshot(engine) -> dict[str, list[tuple]]:
    with engine.connect() as conn:
        return {
            name: sorted(tuple(str(v) for v in row) for row in conn.execute(sa.text(f"SELECT * FROM {name}")))
            for name in (
                "runs",
                "ingested_exports",
                "run_files",
                "claims",
                "batches",
                "sent_rows",
                "run_outcomes",
                "run_lock",
            )
        }


def test_a_ledger_at_the_first_revision_is_upgraded_in_place(ledger_url):
    engine = make_engine(ledger_url)
    upgrade_schema(engine, "0001")
    assert _version(engine) == "0001"
    before = _fill_first_schema(engine)
    assert sum(len(rows) for rows in before.values()) == 10
    engine.dispose()

    upgraded = open_ledger(ledger_url)  # what the next run does on opening the ledger
    assert _version(upgraded) == _head() != "0001"
    assert _snapshot(upgraded) == before
    # What 0002 is for: a 68-character note (PostgreSQL refused it in VARCHAR(64)), a claim's history by index.
    with upgraded.begin() as conn:
        conn.execute(run_files.insert().values(run_id="run-old", role="export", file_name="again.csv", note=LONG_NOTE))
    with upgraded.connect() as conn:
        assert (
            conn.execute(sa.select(run_files.c.note).where(run_files.c.file_name == "again.csv")).scalar() == LONG_NOTE
        )
    indexes = {ix["name"] for ix in sa.inspect(upgraded).get_indexes("run_outcomes")}
    assert "ix_run_outcomes_claim_id" in indexes
    upgraded.dispose()


def test_opening_twice_is_a_no_op(ledger_url):
    engine = open_ledger(ledger_url)
    with engine.begin() as conn:
        conn.execute(run_lock.insert().values(lock_id=1))
    engine.dispose()
    again = open_ledger(ledger_url)
    assert _version(again) == _head()
    with again.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(run_lock)).scalar_one() == 1
    again.dispose()


def test_tables_py_matches_the_migrations(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": False})
        differences = compare_metadata(context, metadata)
    assert differences == []


@pytest.mark.parametrize("revision", ["0001"])
def test_downgrade_of_the_new_revision_keeps_rows(ledger_url, revision):
    # 0002 is reversible: an operator can step back to the first schema without losing rows.
    engine = make_engine(ledger_url)
    upgrade_schema(engine, "0001")
    before = _fill_first_schema(engine)
    upgrade_schema(engine)
    from alembic import command

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)
    assert _version(engine) == revision
    assert _snapshot(engine) == before
    engine.dispose()
