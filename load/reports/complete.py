"""Complete listings as CSV beside the workbook: streamed from the ledger, written by Arrow.

A listing longer than a sheet shows is read once, a chunk at a time: its first rows become the
sheet's, every row goes to `<kind>.csv`. The file is UTF-8 with a byte order mark (so Excel
reads it as UTF-8), a header line, every text quoted, numbers bare, an empty field for a missing
value; the same ledger gives the same bytes. Text a spreadsheet would run as a formula carries a
leading apostrophe (`csv_safe_table`).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pcsv
from sqlalchemy.engine import Connection

from load.reports.files import write_private
from load.reports.listings import KINDS, Scope, empty_raw, stream_listing
from load.reports.neutralise import csv_safe_table

BOM = "\ufeff".encode()


def _table(frame: pd.DataFrame, schema: pa.Schema | None) -> pa.Table:
    table = csv_safe_table(pa.Table.from_pandas(frame, preserve_index=False))
    return table if schema is None else table.cast(schema)


def write_complete_listing(conn: Connection, kind: str, scope: Scope, keep: int, folder: Path) -> pd.DataFrame:
    """Write every row of the listing to `folder/<kind>.csv`; returns the first `keep` rows."""
    _, _, select, shape, _ = KINDS[kind]
    head: list[pd.DataFrame] = []

    def write(tmp: Path) -> None:
        with tmp.open("wb") as out:
            out.write(BOM)
            writer: pcsv.CSVWriter | None = None
            schema: pa.Schema | None = None  # the first chunk's: a later one is cast to it
            shown = 0
            for chunk in stream_listing(conn, kind, scope):
                if shown < keep:
                    head.append(chunk.head(keep - shown))
                    shown += len(head[-1])
                table = _table(chunk, schema)
                if writer is None:
                    schema = table.schema
                    writer = pcsv.CSVWriter(out, schema)
                writer.write_table(table)
            if writer is not None:
                writer.close()

    write_private(folder / f"{kind}.csv", write)
    return pd.concat(head, ignore_index=True) if head else shape(empty_raw(select(scope)), scope)
