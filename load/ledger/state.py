"""Reading what a run needs from the ledger: waiting claims and what the registry holds."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from load.ledger.bulk import read_raw_frame
from load.ledger.tables import claims, ingested_exports, sent_rows
from schemas.portal_claim import CLAIM_FIELDS
from schemas.reasons import Outcome
from schemas.registry_row import REGISTRY_FIELDS
from transform.judge import SENT_COLUMNS, LedgerView
from transform.parse import parse_credits, parse_dates


def read_ledger_view(engine: Engine) -> LedgerView:
    with engine.connect() as conn:
        return LedgerView(pending=_pending(conn), sent=_sent(conn), last_sent=_last_sent(conn))


def _pending(conn: Connection) -> pd.DataFrame:
    columns = [*CLAIM_FIELDS, "source_file", "source_line"]
    query = sa.select(*[claims.c[c] for c in columns]).where(claims.c.state == Outcome.DELAYED.value)
    frame = read_raw_frame(conn, query, columns)
    frame = frame.astype({c: "string" for c in CLAIM_FIELDS})
    return frame.astype({"source_line": "int64", "source_file": "string"})


def _last_sent(conn: Connection) -> pd.DataFrame:
    """The values of the Add each live claim holds in the registry (a Delete repeats them)."""
    query = (
        sa.select(sent_rows.c.claim_id, *[sent_rows.c[f] for f in REGISTRY_FIELDS])
        .join(claims, sa.and_(claims.c.claim_id == sent_rows.c.claim_id, claims.c.sent_version == sent_rows.c.version))
        .where(claims.c.live.is_(True), sent_rows.c.action == "Add")
    )
    return read_raw_frame(conn, query, ["claim_id", *REGISTRY_FIELDS]).astype("string")


def _sent(conn: Connection) -> pd.DataFrame:
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
        .where(claims.c.sent_version > 0)
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
