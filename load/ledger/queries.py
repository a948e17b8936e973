"""Read-only questions staff ask the ledger: recent runs, waiting claims, one run's report.

Plain SQLAlchemy, no Prefect: `cme-relay status`, `delayed` and `report` answer in well under a
second. Answers hold ids, activities, reason codes, dates and counts; never learner identity.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from load.ledger.bulk import read_frame
from load.ledger.tables import claims, run_files, runs
from schemas.reasons import Outcome

REPORTING_EXPECTATION_DAYS = 30  # PARS: report within 30 days of the learner completing the activity
DELAYED_COLUMNS = [
    "claim_id",
    "portal_activity_id",
    "activity_title",
    "accme_activity_id",
    "reason",
    "completion_date",
    "delayed_since",
    "first_seen_at",
    "last_run_id",
]


class AmbiguousRunIdError(LookupError):
    def __init__(self, prefix: str, matches: list[str]) -> None:
        super().__init__(
            f"run id {prefix!r} matches {len(matches)} runs ({', '.join(matches[:5])}); give more characters."
        )


def open_reader(url: str) -> Engine | None:
    """An engine on an existing ledger, or None when there is none yet (nothing is created)."""
    if url.startswith("sqlite"):
        database = sa.engine.make_url(url).database
        if not database or database == ":memory:" or not Path(database).is_file():
            return None
    engine = sa.create_engine(url, hide_parameters=True)
    if not sa.inspect(engine).has_table(runs.name):
        engine.dispose()
        return None
    return engine


def _utc(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; the ledger stores UTC.
    if value is None or pd.isna(value):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _iso(value: datetime | None) -> str | None:
    moment = _utc(value)
    return moment.isoformat(timespec="seconds") if moment else None


def _run_record(row: sa.Row, files: pd.DataFrame) -> dict:
    stored = row.counts or {}
    own = files[files["run_id"] == row.run_id]
    return {
        "run_id": row.run_id,
        "status": row.status,
        "trigger": row.trigger,
        "triggered_by": row.triggered_by,
        "started_at": _iso(row.started_at),
        "finished_at": _iso(row.finished_at),
        "as_of": row.as_of.isoformat() if row.as_of else None,
        "dry_run": bool(row.dry_run),
        "counts": stored.get("counts", {}),
        "carried_over": stored.get("carried_over", {}),
        "reasons": stored.get("reasons", {}),
        "error": row.error,
        "files": {
            role: own.loc[own["role"] == role, "file_name"].tolist()
            for role in ("export", "mappings", "registry", "report")
        },
    }


def _files(conn: Connection, run_ids: list[str]) -> pd.DataFrame:
    query = (
        sa.select(
            run_files.c.run_id,
            run_files.c.role,
            run_files.c.file_name,
            run_files.c.path,
            run_files.c.sha256,
            run_files.c.rows,
            run_files.c.note,
        )
        .where(run_files.c.run_id.in_(run_ids))
        .order_by(run_files.c.id)
    )
    return read_frame(conn, query, ["run_id", "role", "file_name", "path", "sha256", "rows", "note"])


def recent_runs(engine: Engine, limit: int = 10) -> list[dict]:
    """The latest runs, newest first, with their counts by outcome and file names."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(runs).order_by(runs.c.started_at.desc()).limit(limit)).fetchall()
        files = _files(conn, [r.run_id for r in rows])
    return [_run_record(r, files) for r in rows]


def run_report(engine: Engine, run_id: str) -> dict | None:
    """One run (a full id or a unique prefix): its summary and where its files are; None if unknown."""
    with engine.connect() as conn:
        found = conn.execute(
            sa.select(runs).where(runs.c.run_id.startswith(run_id, autoescape=True)).limit(6)
        ).fetchall()
        exact = [r for r in found if r.run_id == run_id]
        if not exact and len(found) > 1:
            raise AmbiguousRunIdError(run_id, [r.run_id for r in found])
        if not found:
            return None
        row = (exact or found)[0]
        files = _files(conn, [row.run_id])
    record = _run_record(row, files)
    listing = files.astype(object).where(files.notna(), None)
    record["file_details"] = [
        {
            **{k: f[k] for k in ("role", "file_name", "path", "sha256", "rows", "note")},
            "exists": bool(f["path"]) and Path(f["path"]).is_file(),
        }
        for f in listing.to_dict("records")
    ]
    return record


def _completion_dates(values: pd.Series) -> pd.Series:
    # The ledger keeps the registry's MM/DD/YYYY; anything else (an unparsed claim) as ISO or NaT.
    parsed = pd.to_datetime(values, format="%m/%d/%Y", errors="coerce")
    return parsed.fillna(pd.to_datetime(values, format="ISO8601", errors="coerce"))


def delayed_claims(
    engine: Engine, today: date, timezone: str = "UTC", expectation_days: int = REPORTING_EXPECTATION_DAYS
) -> pd.DataFrame:
    """Claims waiting in the ledger with why, since when and how old, oldest completion first.

    `days_since_completion` counts from the completion date (the registry expects a report within
    `expectation_days` of it); `days_delayed` counts from the run that first held the claim back.
    """
    query = sa.select(*[claims.c[c] for c in DELAYED_COLUMNS]).where(claims.c.state == Outcome.DELAYED.value)
    with engine.connect() as conn:
        frame = read_frame(conn, query, DELAYED_COLUMNS)
    today_ts = pd.Timestamp(today)
    completed = _completion_dates(frame["completion_date"].astype("string"))
    local_day = {
        c: pd.to_datetime(frame[c], utc=True).dt.tz_convert(timezone).dt.tz_localize(None).dt.normalize()
        for c in ("delayed_since", "first_seen_at")
    }
    since = local_day["delayed_since"].fillna(local_day["first_seen_at"])
    out = frame.drop(columns=["first_seen_at"]).assign(
        completion_date=completed.dt.strftime("%Y-%m-%d"),
        delayed_since=since.dt.strftime("%Y-%m-%d"),
        days_since_completion=(today_ts - completed).dt.days.astype("Int64"),
        days_delayed=(today_ts - since).dt.days.astype("Int64"),
    )
    out["past_expectation"] = (out["days_since_completion"] > expectation_days).fillna(False).astype(bool)
    return out.sort_values(
        ["days_since_completion", "claim_id"], ascending=[False, True], na_position="first", ignore_index=True
    )
