"""Reading what a run needs from the ledger: waiting claims and what the registry holds."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from load.ledger.bulk import insert_frame, read_raw_frame
from load.ledger.tables import claims, ingested_exports, sent_rows
from schemas.portal_claim import CLAIM_FIELDS
from schemas.reasons import Outcome
from schemas.registry_row import REGISTRY_FIELDS
from transform.judge import SENT_COLUMNS, LedgerView
from transform.parse import parse_credits, parse_dates

EVERY_CLAIM = sa.true()


def read_ledger_view(engine: Engine, run_keys: pd.DataFrame | None = None) -> LedgerView:
    """What judging this run needs from the ledger.

    `run_keys` (`claim_id`, `learner_id` of this run's input rows) narrows what was sent to what the
    judgement can use: the sends of the claims judged now (the input and the waiting claims) and
    of their learners (the cross-claim rules look at one learner's other claims). A small export
    against a ledger of millions then reads thousands of rows, not millions; without it, all.
    """
    with engine.begin() as conn:
        return ledger_view(conn, run_keys)


def ledger_view(conn: Connection, run_keys: pd.DataFrame | None, pending: pd.DataFrame | None = None) -> LedgerView:
    """`read_ledger_view` on an open connection; `pending` given, the waiting claims judged with
    these keys (a partition's), instead of every waiting claim."""
    pending = _pending(conn) if pending is None else pending
    if run_keys is None or not _anything_sent(conn):
        return LedgerView(pending=pending, sent=_sent(conn), last_sent=_last_sent(conn))
    keys = pd.concat([run_keys[["claim_id", "learner_id"]], pending[["claim_id", "learner_id"]]])
    claim_keys, learner_keys = _key_tables(conn, keys)
    view = LedgerView(
        pending=pending,
        sent=_sent(
            conn,
            sa.or_(
                claims.c.claim_id.in_(sa.select(claim_keys.c.key)),
                claims.c.learner_id.in_(sa.select(learner_keys.c.key)),
            ),
        ),
        last_sent=_last_sent(conn, sent_rows.c.claim_id.in_(sa.select(claim_keys.c.key))),
    )
    for table in (claim_keys, learner_keys):
        table.drop(conn)
    return view


def waiting_claims(conn: Connection, chunk_rows: int = 100_000) -> Iterator[pd.DataFrame]:
    """Every waiting (delayed) claim as `_pending` reads them, in chunks of `chunk_rows`."""
    columns = [*CLAIM_FIELDS, "source_file", "source_line"]
    query = _waiting_query(columns)
    for rows in _fetched(conn, query, chunk_rows):
        yield _as_pending(pd.DataFrame.from_records(rows, columns=columns))


def ledger_learners(conn: Connection, claim_keys: pd.DataFrame, chunk_rows: int = 100_000) -> Iterator[pd.DataFrame]:
    """(`key`, `learner_id`): for each claim id in `claim_keys` (`claim_id`, `key`) that the
    judgement reads from the ledger (sent, or waiting), the learner the ledger holds for it."""
    if conn.execute(sa.select(claims.c.claim_id).where(_judged_from_ledger()).limit(1)).first() is None:
        return
    table = sa.Table(
        "run_claim_buckets",
        sa.MetaData(),
        sa.Column("claim_id", sa.Text, primary_key=True),
        sa.Column("key", sa.Integer, nullable=False),
        prefixes=["TEMPORARY"],
    )
    fresh_temporary(conn, table)
    firsts = claim_keys.dropna(subset=["claim_id"]).drop_duplicates("claim_id")
    insert_frame(conn, table, pd.DataFrame({"claim_id": firsts["claim_id"].astype(object), "key": firsts["key"]}))
    query = (
        sa.select(table.c.key, claims.c.learner_id)
        .select_from(table.join(claims, claims.c.claim_id == table.c.claim_id))
        .where(_judged_from_ledger())
    )
    for rows in _fetched(conn, query, chunk_rows):
        yield pd.DataFrame.from_records(rows, columns=["key", "learner_id"]).astype({"learner_id": "string"})
    table.drop(conn)


def _waiting_query(columns: list[str]) -> sa.Select:
    # In claim id order: carried claims are numbered in this order, the same on every read.
    waiting = claims.c.state == Outcome.DELAYED.value
    return sa.select(*[claims.c[c] for c in columns]).where(waiting).order_by(claims.c.claim_id)


def count_waiting(engine: Engine) -> int:
    """How many claims wait in the ledger (each run judges them again)."""
    with engine.connect() as conn:
        query = sa.select(sa.func.count()).select_from(claims).where(claims.c.state == Outcome.DELAYED.value)
        return int(conn.execute(query).scalar_one())


def _judged_from_ledger() -> sa.ColumnElement[bool]:
    return sa.or_(claims.c.sent_version > 0, claims.c.state == Outcome.DELAYED.value)


def _fetched(conn: Connection, query: sa.Select, chunk_rows: int) -> Iterator[list]:
    # Through the result, never its DBAPI cursor: a streamed result has already buffered the first
    # rows. On PostgreSQL a server-side cursor; SQLite's cursor steps through the rows anyway.
    result = conn.execute(query.execution_options(stream_results=True, yield_per=chunk_rows))
    try:
        for rows in result.partitions():
            yield [tuple(row) for row in rows]
    finally:
        result.close()


def fresh_temporary(conn: Connection, table: sa.Table) -> None:
    """Create a temporary table of the session, replacing one left on this pooled connection: on
    SQLite a CREATE that opens no transaction is kept even when the caller rolls back."""
    table.drop(conn, checkfirst=True)
    table.create(conn)


def _anything_sent(conn: Connection) -> bool:
    return conn.execute(sa.select(claims.c.claim_id).where(claims.c.sent_version > 0).limit(1)).first() is not None


def _key_tables(conn: Connection, keys: pd.DataFrame) -> tuple[sa.Table, sa.Table]:
    """This run's distinct claim ids and learner ids in two temporary tables of the session."""
    tables = []
    for name, column in (("run_claim_keys", "claim_id"), ("run_learner_keys", "learner_id")):
        table = sa.Table(name, sa.MetaData(), sa.Column("key", sa.Text, primary_key=True), prefixes=["TEMPORARY"])
        fresh_temporary(conn, table)
        values = keys[column].dropna().drop_duplicates().astype(object)
        insert_frame(conn, table, pd.DataFrame({"key": values.to_numpy()}))
        tables.append(table)
    return tables[0], tables[1]


def _pending(conn: Connection) -> pd.DataFrame:
    columns = [*CLAIM_FIELDS, "source_file", "source_line"]
    query = _waiting_query(columns)
    return _as_pending(read_raw_frame(conn, query, columns))


def _as_pending(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.astype({c: "string" for c in CLAIM_FIELDS})
    return frame.astype({"source_line": "int64", "source_file": "string"})


def _last_sent(conn: Connection, among: sa.ColumnElement[bool] = EVERY_CLAIM) -> pd.DataFrame:
    """The values of the Add each live claim holds in the registry (a Delete repeats them)."""
    query = (
        sa.select(sent_rows.c.claim_id, *[sent_rows.c[f] for f in REGISTRY_FIELDS])
        .join(claims, sa.and_(claims.c.claim_id == sent_rows.c.claim_id, claims.c.sent_version == sent_rows.c.version))
        .where(claims.c.live.is_(True), sent_rows.c.action == "Add", among)
    )
    return read_raw_frame(conn, query, ["claim_id", *REGISTRY_FIELDS]).astype("string")


def _sent(conn: Connection, among: sa.ColumnElement[bool] = EVERY_CLAIM) -> pd.DataFrame:
    query = (
        sa.select(
            claims.c.claim_id,
            claims.c.learner_id,
            sent_rows.c.accme_activity_id,
            sent_rows.c.completion_date,
            sent_rows.c.credits,
            claims.c.fingerprint,
            claims.c.sent_version,
            claims.c.live,
        )
        .select_from(claims)
        .join(
            sent_rows,
            sa.and_(
                claims.c.claim_id == sent_rows.c.claim_id,
                claims.c.sent_version == sent_rows.c.version,
                sent_rows.c.action == "Add",
            ),
        )
        .where(claims.c.sent_version > 0, among)
    )
    raw = read_raw_frame(conn, query)
    return pd.DataFrame(
        {
            "claim_id": raw["claim_id"].astype("string"),
            "learner_id": raw["learner_id"].astype("string"),
            "accme_activity_id": raw["accme_activity_id"].astype("string"),
            "completion": parse_dates(raw["completion_date"].astype("string")),
            "credits_value": parse_credits(raw["credits"].astype("string")),
            "fingerprint": raw["fingerprint"].astype("string"),
            "version": raw["sent_version"].astype("int64"),
            "live": raw["live"].astype(bool),
        },
        columns=SENT_COLUMNS,
    )


def ingested_checksums(engine: Engine, checksums: list[str]) -> dict[str, str]:
    """checksum -> run id, for exports some earlier run already ingested."""
    if not checksums:
        return {}
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(ingested_exports.c.sha256, ingested_exports.c.run_id).where(
                ingested_exports.c.sha256.in_(checksums)
            )
        )
        return {sha: run for sha, run in rows}
