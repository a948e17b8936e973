"""One run of the pipeline on plain functions (no Prefect): what the flow does with the ledger.

Used by the ledger suite to exercise commit_load, state reading and the lock on SQLite and
PostgreSQL alike; the real flow is exercised in tests/flows.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from extract import read_activity_map, read_portal_export
from extract.inbox import describe_inputs
from load.ledger.runs import start_run
from load.ledger.state import ingested_checksums, read_ledger_view
from load.ledger.write import BatchPlan, commit_load, plan_batches
from tests.factories import claim, write_export, write_map
from transform.judge import JudgedRun, judge_run
from transform.mapping import usable_activity_map

_files = itertools.count(1)
AS_OF = "2026-11-26"


@dataclass
class PreparedRun:
    run_id: str
    now: datetime
    judged: JudgedRun
    plans: list[BatchPlan]
    files: pd.DataFrame


def record_run(engine: Engine, run_id: str) -> None:
    """A run record as the flow starts it (the lock tests and `prepare_run` need one)."""
    start_run(
        engine,
        run_id=run_id,
        trigger="test",
        triggered_by="pytest",
        as_of=date.fromisoformat(AS_OF),
        cutoff=date(2023, 7, 1),
        code_version="test",
        dry_run=False,
    )


def prepare_run(
    engine: Engine, folder: Path, rows: list[dict], map_rows: list[dict] | None = None, *, start: bool = True
) -> PreparedRun:
    """Record a run, read the ledger and judge `rows` (written as an export) against it."""
    run_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    if start:
        record_run(engine, run_id)
    n = next(_files)
    export = folder / f"export_{n}.csv"
    if rows:
        write_export(export, rows)
    else:  # a delta export with no rows: the header only
        pd.DataFrame(columns=list(claim())).to_csv(export, index=False)
    mappings = write_map(folder / f"map_{n}.csv", map_rows)
    files = describe_inputs([export], "export")
    seen = ingested_checksums(engine, files["sha256"].tolist())
    skipped = bool(seen)  # as the flow's plan_inputs: an export already ingested is not read again
    raw = read_portal_export(export).assign(file_order=0)
    if skipped:
        raw = raw.iloc[0:0]
    activity_map = usable_activity_map(read_activity_map(mappings))
    judged = judge_run(
        raw,
        activity_map,
        read_ledger_view(engine, run_keys=raw),
        cutoff=pd.Timestamp("2023-07-01"),
        as_of=pd.Timestamp(AS_OF),
    )
    plans = plan_batches(judged.registry_rows, stem=f"PARS-TEST-{run_id[:8]}", max_rows=10_000)
    files = pd.concat(
        [
            files.assign(
                rows=len(raw), note=f"skipped: already ingested by run {next(iter(seen.values()))}" if skipped else None
            ),
            describe_inputs([mappings], "mappings").assign(rows=len(activity_map), note=None),
        ],
        ignore_index=True,
    )
    return PreparedRun(run_id, now, judged, plans, files)


def commit(engine: Engine, run: PreparedRun) -> None:
    commit_load(
        engine, run_id=run.run_id, now=run.now, judged=run.judged.claims, plans=run.plans, input_files=run.files
    )


def run_once(engine: Engine, folder: Path, rows: list[dict], map_rows: list[dict] | None = None) -> PreparedRun:
    run = prepare_run(engine, folder, rows, map_rows)
    commit(engine, run)
    return run


def table(engine: Engine, name: str, where: str = "") -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(sa.text(f"SELECT * FROM {name} {where}"), conn)


def count(engine: Engine, name: str, where: str = "") -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT COUNT(*) FROM {name} {where}")).scalar_one()
