"""Per-claim listings of one run: submitted, corrections, delayed, rejected.

Each listing is one SQL query (ordered, so the first rows are always the same ones) and one
vectorised shaping step. The report shows the first rows of each; the complete listing is
streamed to a CSV beside the workbook when there are more (`load.reports.complete`).

A run can list a million claims, so rows are read with `load.reports.packed` (one text per row,
split by Arrow): every field arrives as text (NULL as ""), and the shaping step turns numbers and
flags back into numbers and yes/no.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from load.ledger.tables import batches, claims, run_outcomes, runs, sent_rows
from load.reports.packed import STR, stream_raw
from schemas.reasons import STAFF_FIX
from schemas.registry_row import REGISTRY_COLUMNS, REGISTRY_FIELDS

LABELS = dict(REGISTRY_COLUMNS)
_STR = STR
_FIX = {str(reason): text for reason, text in STAFF_FIX.items()}


def what_to_do(reasons: pd.Series) -> pd.Series:
    return reasons.map(_FIX).fillna("").astype(_STR)


@dataclass(frozen=True)
class Scope:
    run_id: str
    started_at: datetime  # as stored in the ledger (bound back unchanged)
    as_of: date


@dataclass(frozen=True)
class Listing:
    name: str  # sheet title
    intro: str  # one line saying what the rows are
    frame: pd.DataFrame  # the first rows, with display labels
    total: int  # how many rows the complete listing has
    csv_name: str  # where the complete listing is written when it is longer than `frame`

    @property
    def more(self) -> int:
        return self.total - len(self.frame)


_ro = run_outcomes.c


def _run_batches(scope: Scope) -> sa.Select:
    return sa.select(batches.c.batch_id).where(batches.c.run_id == scope.run_id)


def _sent(scope: Scope, action: str) -> tuple[sa.FromClause, sa.FromClause, sa.ColumnElement[bool]]:
    """This run's registry row of `action` for each claim, looked up by the claim's id (an index
    of sent_rows), with its batch for the file name: (row table, batch table, join condition)."""
    row, batch = sent_rows.alias(action.lower()), batches.alias(f"{action.lower()}_batch")
    on = sa.and_(row.c.claim_id == _ro.claim_id, row.c.action == action, row.c.batch_id.in_(_run_batches(scope)))
    return row, batch, on


def _outcomes(scope: Scope, kinds: list[str]) -> sa.ColumnElement[bool]:
    return sa.and_(_ro.run_id == scope.run_id, _ro.outcome.in_(kinds))


_from_claims = run_outcomes.outerjoin(claims, claims.c.claim_id == _ro.claim_id)


def _submitted(scope: Scope) -> sa.Select:
    add, add_batch, on = _sent(scope, "Add")
    return (
        sa.select(
            _ro.claim_id,
            claims.c.learner_id,
            add.c.last_name,
            add.c.first_name,
            add.c.accme_activity_id,
            add.c.completion_date,
            add.c.credits,
            add_batch.c.file_name,
            add.c.row_no,
            _ro.source_file,
            _ro.source_line,
            _ro.carried,
        )
        .select_from(_from_claims.outerjoin(add, on).outerjoin(add_batch, add_batch.c.batch_id == add.c.batch_id))
        .where(_outcomes(scope, ["submitted"]))
        .order_by(_ro.seq)
    )


def _shape_submitted(raw: pd.DataFrame, scope: Scope) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "claim id": raw["claim_id"],
            "learner id": raw["learner_id"],
            "last name": raw["last_name"],
            "first name": raw["first_name"],
            "ACCME activity id": raw["accme_activity_id"],
            "completion date": raw["completion_date"],
            "credits": _number(raw["credits"]),
            "registry file": raw["file_name"],
            "registry row": _integer(raw["row_no"]),
            "source file": raw["source_file"],
            "line": _integer(raw["source_line"]),
            "waiting since an earlier run": _yes_no(raw["carried"]),
        }
    )


def _corrections(scope: Scope) -> sa.Select:
    old, old_batch, old_on = _sent(scope, "Delete")
    new, new_batch, new_on = _sent(scope, "Add")
    return (
        sa.select(
            _ro.claim_id,
            _ro.outcome,
            _ro.reason,
            claims.c.learner_id,
            _ro.source_file,
            _ro.source_line,
            sa.func.coalesce(new_batch.c.file_name, old_batch.c.file_name).label("file_name"),
            *[old.c[f].label(f"old_{f}") for f in REGISTRY_FIELDS if f != "action"],
            *[new.c[f].label(f"new_{f}") for f in REGISTRY_FIELDS if f != "action"],
        )
        .select_from(
            _from_claims.outerjoin(old, old_on)
            .outerjoin(old_batch, old_batch.c.batch_id == old.c.batch_id)
            .outerjoin(new, new_on)
            .outerjoin(new_batch, new_batch.c.batch_id == new.c.batch_id)
        )
        .where(_outcomes(scope, ["corrected", "revoked"]))
        .order_by(_ro.seq)
    )


def _shape_corrections(raw: pd.DataFrame, scope: Scope) -> pd.DataFrame:
    fields = [f for f in REGISTRY_FIELDS if f != "action"]
    old = raw[[f"old_{f}" for f in fields]].set_axis(fields, axis=1)
    new = raw[[f"new_{f}" for f in fields]].set_axis(fields, axis=1)
    changes = pd.Series("", index=raw.index, dtype=_STR)
    for field in fields:  # a loop over the 13 columns, not over rows
        differs = (old[field] != new[field]) & (raw["outcome"] == "corrected")
        piece = LABELS[field] + ": " + old[field] + " → " + new[field]
        changes = changes.mask(differs, changes.where(changes == "", changes + "; ") + piece)
    changes = changes.mask(raw["outcome"] == "revoked", "withdrawn from the registry (Delete only)")
    return pd.DataFrame(
        {
            "claim id": raw["claim_id"],
            "outcome": raw["outcome"],
            "reason": raw["reason"],
            "learner id": raw["learner_id"],
            "last name": new["last_name"].mask(new["last_name"] == "", old["last_name"]),
            "first name": new["first_name"].mask(new["first_name"] == "", old["first_name"]),
            "what changed": changes,
            "old ACCME activity id": old["accme_activity_id"],
            "new ACCME activity id": new["accme_activity_id"],
            "old completion date": old["completion_date"],
            "new completion date": new["completion_date"],
            "old credits": _number(old["credits"]),
            "new credits": _number(new["credits"]),
            "registry file": raw["file_name"],
            "source file": raw["source_file"],
            "line": _integer(raw["source_line"]),
        }
    )


def _delayed(scope: Scope) -> sa.Select:
    ro2 = run_outcomes.alias("earlier")
    this_runs_delays = sa.select(_ro.claim_id).where(_outcomes(scope, ["delayed"]))
    first = (
        sa.select(ro2.c.claim_id, sa.func.min(runs.c.started_at).label("first_delayed"))
        .join(runs, runs.c.run_id == ro2.c.run_id)
        .where(ro2.c.outcome == "delayed", runs.c.started_at <= scope.started_at, ro2.c.claim_id.in_(this_runs_delays))
        .group_by(ro2.c.claim_id)
        .subquery("first")
    )
    return (
        sa.select(
            _ro.claim_id,
            _ro.reason,
            first.c.first_delayed,
            claims.c.learner_id,
            claims.c.last_name,
            claims.c.first_name,
            claims.c.portal_activity_id,
            _ro.source_file,
            _ro.source_line,
            _ro.carried,
        )
        .select_from(_from_claims.outerjoin(first, first.c.claim_id == _ro.claim_id))
        .where(_outcomes(scope, ["delayed"]))
        .order_by(first.c.first_delayed, _ro.seq)
    )


def _shape_delayed(raw: pd.DataFrame, scope: Scope) -> pd.DataFrame:
    stamp = raw["first_delayed"].astype(object).where(raw["first_delayed"] != "", None)
    first = pd.to_datetime(stamp, utc=True, format="ISO8601").dt.tz_localize(None).dt.normalize()
    age = (pd.Timestamp(scope.as_of) - first).dt.days.clip(lower=0)
    return pd.DataFrame(
        {
            "claim id": raw["claim_id"],
            "reason": raw["reason"],
            "what to do": what_to_do(raw["reason"]),
            "first delayed": first.dt.strftime("%Y-%m-%d").astype(_STR),
            "age in days": age.astype("Int64"),
            "learner id": raw["learner_id"],
            "last name": raw["last_name"],
            "first name": raw["first_name"],
            "portal activity id": raw["portal_activity_id"],
            "source file": raw["source_file"],
            "line": _integer(raw["source_line"]),
            "waiting since an earlier run": _yes_no(raw["carried"]),
        }
    )


def _rejected(scope: Scope) -> sa.Select:
    return (
        sa.select(
            _ro.claim_id,
            _ro.outcome,
            _ro.reason,
            claims.c.learner_id,
            claims.c.last_name,
            claims.c.first_name,
            claims.c.portal_activity_id,
            _ro.source_file,
            _ro.source_line,
        )
        .select_from(_from_claims)
        .where(_outcomes(scope, ["rejected", "duplicate"]))
        .order_by(_ro.seq)
    )


def _shape_rejected(raw: pd.DataFrame, scope: Scope) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "claim id": raw["claim_id"],
            "outcome": raw["outcome"],
            "reason": raw["reason"],
            "what to do": what_to_do(raw["reason"]),
            "source file": raw["source_file"],
            "line": _integer(raw["source_line"]),
            "learner id": raw["learner_id"],
            "last name": raw["last_name"],
            "first name": raw["first_name"],
            "portal activity id": raw["portal_activity_id"],
        }
    )


def _yes_no(flags: pd.Series) -> pd.Series:
    # SQLite prints a flag as 1/0, PostgreSQL as t/f (true/false when cast)
    return pd.Series(np.where(flags.isin(["1", "t", "true"]), "yes", "no"), index=flags.index, dtype=_STR)


def _number(text: pd.Series) -> pd.Series:
    values = pa.array(text, pa.large_string())
    values = pc.if_else(pc.equal(values, ""), pa.scalar(None, values.type), values)
    try:
        numbers = pc.cast(values, pa.float64()).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:  # not a number: shown empty, as a missing one
        numbers = pd.to_numeric(text.astype(object).where(text != "", None), errors="coerce").to_numpy()
    return pd.Series(numbers, index=text.index, dtype="float64")


def _integer(text: pd.Series) -> pd.Series:
    return _number(text).astype("Int64")


Kind = tuple[str, str, Callable[[Scope], sa.Select], Callable[[pd.DataFrame, Scope], pd.DataFrame], tuple[str, ...]]
KINDS: dict[str, Kind] = {
    "submitted": (
        "Submitted",
        "Claims added to the registry file(s) of this run.",
        _submitted,
        _shape_submitted,
        ("submitted",),
    ),
    "corrections": (
        "Corrections",
        "Claims sent before: corrected (Delete of the old row, then Add of the new) or revoked (Delete).",
        _corrections,
        _shape_corrections,
        ("corrected", "revoked"),
    ),
    "delayed": (
        "Delayed",
        "Claims held back for now, oldest first; every run judges them again.",
        _delayed,
        _shape_delayed,
        ("delayed",),
    ),
    "rejected": (
        "Rejected",
        "Rows that cannot be reported (rejected) or repeat another row (duplicate).",
        _rejected,
        _shape_rejected,
        ("rejected", "duplicate"),
    ),
}


def empty_raw(query: sa.Select) -> pd.DataFrame:
    return pd.DataFrame({column.key: pd.Series(dtype=_STR) for column in query.selected_columns})


def read_listing(
    conn: Connection, kind: str, scope: Scope, totals: dict[str, int], limit: int, head: pd.DataFrame | None = None
) -> Listing:
    """The first `limit` rows of a listing (none at all when `limit` is 0), read unless `head`
    already holds them; its total is the run's count of its outcomes."""
    name, intro, select, shape, outcomes = KINDS[kind]
    total = sum(totals.get(o, 0) for o in outcomes)
    if head is None:
        query = select(scope)
        raw = empty_raw(query)
        if limit > 0 and total > 0:
            raw = next(stream_raw(conn, query.limit(limit), chunk_rows=limit), raw)
        head = shape(raw, scope)
    return Listing(name, intro, head.head(limit), total, f"{kind}.csv")


def stream_listing(conn: Connection, kind: str, scope: Scope, chunk_rows: int | None = None) -> Iterator[pd.DataFrame]:
    """The complete listing, a chunk at a time (for the CSV beside the workbook)."""
    _, _, select, shape, _ = KINDS[kind]
    for raw in stream_raw(conn, select(scope), chunk_rows):
        yield shape(raw, scope)
