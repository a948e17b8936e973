"""The load: one transaction writes claims, batches, the rows sent and the run's outcomes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from load.errors import AlreadySentError
from load.ledger import bulk  # called through the module, so a fault test can replace a writer
from load.ledger.tables import batches, claims, ingested_exports, run_files, run_outcomes, sent_rows
from schemas.portal_claim import CLAIM_FIELDS
from schemas.reasons import Outcome
from schemas.registry_row import REGISTRY_FIELDS


@dataclass(frozen=True)
class BatchPlan:
    batch_id: str
    part: int
    file_name: str
    rows: pd.DataFrame  # claim_id, version, REGISTRY_FIELDS in file order


def plan_batches(registry_rows: pd.DataFrame, *, stem: str, max_rows: int, suffix: str = ".xlsx") -> list[BatchPlan]:
    """Split the run's rows into files of at most `max_rows`, in stable order."""
    plans = []
    for part, start in enumerate(range(0, len(registry_rows), max_rows), start=1):
        batch_id = f"{stem}-{part:02d}"
        rows = registry_rows.iloc[start : start + max_rows].reset_index(drop=True)
        plans.append(BatchPlan(batch_id, part, batch_id + suffix, rows))
    return plans


def _claim_records(judged: pd.DataFrame, now: datetime) -> pd.DataFrame:
    """Each claim's latest record and state; the run's id and time go in as `_run_constants`."""
    # A row without a claim id is rejected and kept in run_outcomes only: it has no key to follow.
    keep = (judged["outcome"] != Outcome.DUPLICATE.value) & judged["claim_id"].notna()
    # Selecting every row would still copy every column: only filter when some row goes.
    kept = judged if keep.all() else judged[keep]
    sent_now = kept["outcome"].isin([Outcome.SUBMITTED.value, Outcome.CORRECTED.value])
    revoked = kept["outcome"] == Outcome.REVOKED.value
    # Copy-on-write: the selected columns are shared with `judged` until written, never copied here.
    records = kept[[*CLAIM_FIELDS, "source_file", "source_line", "accme_activity_id"]]
    records["state"] = kept["outcome"]
    records["reason"] = kept["reason"]
    records["delayed_since"] = pd.Series(now, index=kept.index).where(kept["outcome"] == Outcome.DELAYED.value)
    # What the registry holds after this run: judged from the ledger as it was read; if another
    # run changed it meanwhile, the unique keys on sent_rows refuse this whole load.
    records["sent_version"] = kept["new_version"].astype("int64")
    records["live"] = (kept["was_live"].astype(bool) | sent_now) & ~revoked
    records["fingerprint"] = kept["fingerprint"].where(sent_now, kept["live_fingerprint"]).where(records["live"])
    return records.drop_duplicates("claim_id", keep="last")


def _outcome_records(judged: pd.DataFrame, carried_from: int | None = None) -> pd.DataFrame:
    """One row per judged row: what this run decided (kept for reports and audits). `seq` is the
    row's place in the run: its input row, then the carried claims from `carried_from` (the run's
    input rows) on, so that a run loaded in partitions numbers its rows as a whole run does."""
    columns = ["claim_id", "outcome", "reason", "source_file", "source_line", "accme_activity_id"]
    carried = judged["from_ledger"].astype(bool).to_numpy()
    start = int((~carried).sum()) if carried_from is None else carried_from
    seq = judged["input_row"].to_numpy(dtype=np.int64, copy=True)
    seq[carried] = start + np.arange(int(carried.sum()), dtype=np.int64)
    return judged[columns].assign(seq=seq, carried=carried, credits=judged["credits_value"])


def _run_constants(run_id: str, now: datetime) -> dict[str, object]:
    return {"first_seen_run": run_id, "first_seen_at": now, "state_changed_at": now, "last_run_id": run_id}


CLAIM_UPDATE = {
    **{c: f"excluded.{c}" for c in [*CLAIM_FIELDS[1:], "source_file", "source_line", "accme_activity_id"]},
    "state": "excluded.state",
    "reason": "excluded.reason",
    "state_changed_at": "CASE WHEN claims.state = excluded.state THEN claims.state_changed_at "
    "ELSE excluded.state_changed_at END",
    "delayed_since": "CASE WHEN excluded.state <> 'delayed' THEN NULL "
    "WHEN claims.state = 'delayed' THEN claims.delayed_since ELSE excluded.delayed_since END",
    "last_run_id": "excluded.last_run_id",
    "sent_version": "excluded.sent_version",
    "live": "excluded.live",
    "fingerprint": "excluded.fingerprint",
}


def commit_load(
    engine: Engine,
    *,
    run_id: str,
    now: datetime,
    judged: pd.DataFrame,
    plans: list[BatchPlan],
    input_files: pd.DataFrame,
) -> None:
    """Everything the run decided, in one transaction: all of it lands or none of it."""
    with refused_as_already_sent(), engine.begin() as conn:
        write_input_files(conn, run_id, input_files)
        write_claims(conn, run_id, now, judged)
        write_batches(conn, run_id, now, plans)
        write_outcomes(conn, run_id, judged)


@contextmanager
def refused_as_already_sent() -> Iterator[None]:
    try:
        yield
    except sa.exc.IntegrityError as exc:
        raise AlreadySentError(
            "the ledger refused this load: another run already sent or ingested some of these claims "
            f"({type(exc.orig).__name__}); nothing from this run was committed. Run again to re-judge."
        ) from None


def write_input_files(conn: Connection, run_id: str, input_files: pd.DataFrame) -> None:
    exports = input_files[(input_files["role"] == "export") & input_files["note"].isna()]
    bulk.insert_frame(
        conn,
        ingested_exports,
        exports[["sha256", "file_name", "rows"]].assign(run_id=run_id).drop_duplicates("sha256"),
    )
    bulk.insert_frame(conn, run_files, input_files.assign(run_id=run_id))


def write_claims(conn: Connection, run_id: str, now: datetime, judged: pd.DataFrame) -> None:
    # Each table's rows are built just before their insert and dropped after it: at a million
    # claims every copy of the judged frame costs hundreds of megabytes.
    records = _claim_records(judged, now)
    bulk.upsert_frame(conn, claims, records, "claim_id", CLAIM_UPDATE, _run_constants(run_id, now))


def write_batches(conn: Connection, run_id: str, now: datetime, plans: list[BatchPlan]) -> None:
    for plan in plans:
        adds = int((plan.rows["action"] == "Add").sum())
        insert_batch(conn, run_id, now, plan.batch_id, plan.part, plan.file_name, adds, len(plan.rows) - adds)
        rows = plan.rows[["claim_id", "version", *REGISTRY_FIELDS]].assign(row_no=range(1, len(plan.rows) + 1))
        bulk.insert_frame(conn, sent_rows, rows, {"batch_id": plan.batch_id})


def insert_batch(
    conn: Connection, run_id: str, now: datetime, batch_id: str, part: int, file_name: str, adds: int, deletes: int
) -> None:
    """A batch's record, committed with its rows; its file is written after the load."""
    conn.execute(
        batches.insert().values(
            batch_id=batch_id,
            run_id=run_id,
            part=part,
            created_at=now,
            file_name=file_name,
            rows=adds + deletes,
            adds=adds,
            deletes=deletes,
            status="committed",
        )
    )


def write_outcomes(conn: Connection, run_id: str, judged: pd.DataFrame, carried_from: int | None = None) -> None:
    bulk.insert_frame(conn, run_outcomes, _outcome_records(judged, carried_from), {"run_id": run_id})


def mark_batch_written(engine: Engine, batch_id: str, sha256: str) -> None:
    with engine.begin() as conn:
        conn.execute(batches.update().where(batches.c.batch_id == batch_id).values(status="written", sha256=sha256))
