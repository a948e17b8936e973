"""What a run report reads from the ledger; every query is scoped to one run id and ordered.

Counts and sums are grouped in SQL so a million-row run never travels to Python whole.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from load.ledger.bulk import read_frame
from load.ledger.tables import batches, run_files, run_outcomes, runs, sent_rows

HISTORY_RUNS = 10


def utc(value: datetime | None) -> datetime | None:
    """Ledger times are UTC; SQLite hands them back without a zone."""
    if value is None or pd.isna(value):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def run_row(conn: Connection, run_id: str) -> dict:
    row = conn.execute(sa.select(runs).where(runs.c.run_id == run_id)).mappings().one_or_none()
    if row is None:
        raise LookupError(f"no run {run_id} in the ledger")
    return dict(row)


def input_files(conn: Connection, run_id: str) -> pd.DataFrame:
    query = (
        sa.select(run_files.c.role, run_files.c.file_name, run_files.c.rows, run_files.c.sha256, run_files.c.note)
        .where(run_files.c.run_id == run_id, run_files.c.role.in_(["export", "mappings"]))
        .order_by(run_files.c.id)
    )
    return read_frame(conn, query)


def run_batches(conn: Connection, run_id: str) -> pd.DataFrame:
    query = (
        sa.select(
            batches.c.batch_id,
            batches.c.file_name,
            batches.c.rows,
            batches.c.adds,
            batches.c.deletes,
            batches.c.sha256,
            batches.c.status,
        )
        .where(batches.c.run_id == run_id)
        .order_by(batches.c.part)
    )
    return read_frame(conn, query)


def registry_copies(conn: Connection, run_id: str) -> pd.DataFrame:
    """Registry files the flow recorded as written (e.g. the tab-delimited copy of a batch)."""
    query = (
        sa.select(run_files.c.file_name, run_files.c.sha256)
        .where(run_files.c.run_id == run_id, run_files.c.role == "registry")
        .order_by(run_files.c.id)
    )
    return read_frame(conn, query)


def outcome_groups(conn: Connection, run_id: str) -> pd.DataFrame:
    """outcome, carried, reason, accme_activity_id, claims, credits: the run's outcomes grouped."""
    activity = sa.func.coalesce(run_outcomes.c.accme_activity_id, "")
    query = (
        sa.select(
            run_outcomes.c.outcome,
            run_outcomes.c.carried,
            sa.func.coalesce(run_outcomes.c.reason, "").label("reason"),
            activity.label("accme_activity_id"),
            sa.func.count().label("claims"),
            sa.func.coalesce(sa.func.sum(run_outcomes.c.credits), 0.0).label("credits"),
        )
        .where(run_outcomes.c.run_id == run_id)
        .group_by(run_outcomes.c.outcome, run_outcomes.c.carried, "reason", activity)
        .order_by(run_outcomes.c.outcome, run_outcomes.c.carried, "reason", activity)
    )
    frame = read_frame(conn, query)
    return frame.astype({"carried": bool, "claims": "int64", "credits": "float64"})


def sent_groups(conn: Connection, run_id: str) -> pd.DataFrame:
    """accme_activity_id, action, rows, credits: what this run's registry files hold."""
    query = (
        sa.select(
            sent_rows.c.accme_activity_id,
            sent_rows.c.action,
            sa.func.count().label("rows"),
            sa.func.coalesce(sa.func.sum(sa.cast(sent_rows.c.credits, sa.Float)), 0.0).label("credits"),
        )
        .join(batches, batches.c.batch_id == sent_rows.c.batch_id)
        .where(batches.c.run_id == run_id)
        .group_by(sent_rows.c.accme_activity_id, sent_rows.c.action)
        .order_by(sent_rows.c.accme_activity_id, sent_rows.c.action)
    )
    return read_frame(conn, query).astype({"rows": "int64", "credits": "float64"})


def recent_runs(conn: Connection, started_at: datetime, limit: int = HISTORY_RUNS) -> pd.DataFrame:
    """The runs up to and including this one (by start), oldest first."""
    query = (
        sa.select(runs.c.run_id, runs.c.started_at, runs.c.as_of, runs.c.status, runs.c.counts)
        .where(runs.c.started_at <= started_at)
        .order_by(runs.c.started_at.desc(), runs.c.run_id.desc())
        .limit(limit)
    )
    return read_frame(conn, query).iloc[::-1].reset_index(drop=True)


def fresh_outcome_counts(conn: Connection, run_id: str) -> dict[str, int]:
    query = (
        sa.select(run_outcomes.c.outcome, sa.func.count())
        .where(run_outcomes.c.run_id == run_id, run_outcomes.c.carried.is_(False))
        .group_by(run_outcomes.c.outcome)
    )
    return {outcome: int(n) for outcome, n in conn.execute(query)}
