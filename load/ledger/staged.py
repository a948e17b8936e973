"""Registry rows of a run loaded in partitions: staged in the load's transaction, then numbered.

Each partition's rows are in batch order among themselves; the run's batches need them in one
order across partitions (Deletes, then Adds, each by ACCME activity and claim, as `order_batch`).
The database sorts them once, spilling to disk as it must, and splits them into batches of
`max_rows`, exactly as `plan_batches` splits a whole run's rows.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from load.ledger import bulk
from load.ledger.state import fresh_temporary
from load.ledger.write import insert_batch
from schemas.registry_row import REGISTRY_FIELDS

COLUMNS = ["staged_row", "claim_id", "version", *REGISTRY_FIELDS]


class StagedRegistryRows:
    """A temporary table of the session holding the run's registry rows until they are numbered."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.table = sa.Table(
            "staged_registry_rows",
            sa.MetaData(),
            sa.Column("staged_row", sa.BigInteger, primary_key=True),
            sa.Column("claim_id", sa.Text, nullable=False),
            sa.Column("version", sa.Integer, nullable=False),
            *[sa.Column(f, sa.Text) for f in REGISTRY_FIELDS],
            prefixes=["TEMPORARY"],
        )
        fresh_temporary(conn, self.table)
        self.rows = 0

    def add(self, registry_rows: pd.DataFrame) -> None:
        numbered = registry_rows[["claim_id", "version", *REGISTRY_FIELDS]].assign(
            staged_row=range(self.rows, self.rows + len(registry_rows))
        )
        bulk.insert_frame(self.conn, self.table, numbered[COLUMNS])
        self.rows += len(registry_rows)

    def into_batches(self, *, run_id: str, now: datetime, stem: str, max_rows: int, suffix: str = ".xlsx") -> int:
        """Number every staged row in batch order, write the batches and their rows; the batch count."""
        conn = self.conn
        text = ' COLLATE "C"' if conn.dialect.name == "postgresql" else ""  # byte order, as Arrow sorts
        conn.exec_driver_sql("DROP TABLE IF EXISTS numbered_registry_rows")
        conn.exec_driver_sql(
            "CREATE TEMPORARY TABLE numbered_registry_rows AS SELECT staged_row, "
            "(ROW_NUMBER() OVER (ORDER BY CASE WHEN action = 'Add' THEN 1 ELSE 0 END, "
            f"accme_activity_id IS NULL, accme_activity_id{text}, claim_id{text}, staged_row)) - 1 AS position "
            "FROM staged_registry_rows"
        )
        part = f"(n.position / {int(max_rows)} + 1)"
        parts = conn.exec_driver_sql(
            f"SELECT {part} AS part, COUNT(*), SUM(CASE WHEN s.action = 'Add' THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN s.action = 'Delete' THEN 1 ELSE 0 END) FROM numbered_registry_rows n "
            "JOIN staged_registry_rows s ON s.staged_row = n.staged_row GROUP BY 1 ORDER BY 1"
        ).all()
        for number, _, adds, deletes in parts:
            batch_id = f"{stem}-{int(number):02d}"
            insert_batch(conn, run_id, now, batch_id, int(number), batch_id + suffix, int(adds), int(deletes))
        # The batch id as `plan_batches` names it: the stem, a dash, the part in at least two digits.
        batch_id = f"CAST(:stem AS TEXT) || '-' || CASE WHEN {part} < 10 THEN '0' ELSE '' END || CAST({part} AS TEXT)"
        fields = ", ".join(f'"{f}"' for f in REGISTRY_FIELDS)
        conn.execute(
            sa.text(
                f"INSERT INTO sent_rows (batch_id, row_no, claim_id, version, {fields}) "
                f"SELECT {batch_id}, n.position % {int(max_rows)} + 1, s.claim_id, s.version, "
                + ", ".join(f's."{f}"' for f in REGISTRY_FIELDS)
                + " FROM numbered_registry_rows n JOIN staged_registry_rows s ON s.staged_row = n.staged_row"
            ),
            {"stem": stem},
        )
        conn.exec_driver_sql("DROP TABLE numbered_registry_rows")
        self.table.drop(conn)
        return len(parts)
