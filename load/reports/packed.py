"""Reading a listing's rows fast: one text per row from the database, split again by Arrow.

A run can list a million claims. The query joins a row's fields with a separator in one
printf-style call (`%s` prints NULL as nothing), so the driver hands back one string per row
instead of a dozen values, and Arrow kernels split them again a chunk at a time (bounded
memory, no per-row Python). Every field arrives as text, NULL as "".
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.engine import Connection

CHUNK_ROWS = 100_000  # rows fetched and shaped at a time: bounds memory at any run size
# The unit separator joins a row's fields. A value holding it makes its row split wrong; the
# listing is then read again with the separator replaced by U+FFFD inside each value, as the
# workbook shows every control character XML refuses.
SEP = "\x1f"
STR = pd.StringDtype("pyarrow")
_STR = STR


def packed(query: sa.Select, dialect: str, *, safe: bool = False) -> tuple[sa.Select, list[str]]:
    """`query` with its columns joined into one text per row, and the names of those columns.

    One printf-style call per row (`%s` prints NULL as nothing) costs the database far less than
    a cast, coalesce and concatenation per field. `safe` also replaces the separator inside each
    value: slower, for the rare listing whose values contain it.
    """
    columns = list(query.selected_columns)
    names = [str(column.key) for column in columns]
    if safe:
        fields: list[sa.ColumnElement[str]] = []
        for column in columns:
            text = sa.func.coalesce(sa.cast(column, sa.Text), "")
            fields.append(sa.func.replace(text, SEP, "\ufffd") if isinstance(column.type, sa.String) else text)
        row: sa.ColumnElement[str] = fields[0]
        for field in fields[1:]:
            row = row + SEP + field
    else:
        printf = sa.func.printf if dialect == "sqlite" else sa.func.format
        row = printf(SEP.join(["%s"] * len(columns)), *columns)  # type: ignore[assignment]
    return query.with_only_columns(row.label("packed_row"), maintain_column_froms=True), names


class _SeparatorInValue(Exception):
    """A value holds the separator, so its row split into too many fields."""


def _unpack(texts: list[str], names: list[str]) -> pd.DataFrame:
    """One text per row, split back into its columns with Arrow kernels (no per-row Python)."""
    width = len(names)
    values = pc.split_pattern(pa.array(texts, pa.large_string()), SEP).flatten()
    if len(values) != len(texts) * width:
        raise _SeparatorInValue
    return pd.DataFrame(
        {name: pd.Series(values.take(np.arange(i, len(values), width)), dtype=_STR) for i, name in enumerate(names)}
    )


def _fetch(conn: Connection, statement: sa.Select, chunk_rows: int) -> Iterator[list[str]]:
    if conn.dialect.name != "sqlite":  # a server-side cursor; one text per row costs little to wrap
        result = conn.execution_options(stream_results=True, yield_per=chunk_rows).execute(statement)
        for rows in result.partitions():
            yield [row[0] for row in rows]
        return
    # SQLite's cursor steps through the result as it is fetched; read it without SQLAlchemy's rows
    result = conn.execute(statement)
    cursor = result.cursor
    try:
        while cursor is not None and (rows := cursor.fetchmany(chunk_rows)):
            yield [row[0] for row in rows]
    finally:
        result.close()


def stream_raw(conn: Connection, query: sa.Select, chunk_rows: int | None = None) -> Iterator[pd.DataFrame]:
    """The rows of `query` a chunk at a time, every field as text ("" for NULL)."""
    chunk_rows = chunk_rows or CHUNK_ROWS
    statement, names = packed(query, conn.dialect.name)
    done = 0
    try:
        for texts in _fetch(conn, statement, chunk_rows):
            frame = _unpack(texts, names)
            done += len(frame)
            yield frame
        return
    except _SeparatorInValue:
        pass
    # The query is ordered, so the safe one returns the same rows: skip those already given.
    statement, names = packed(query, conn.dialect.name, safe=True)
    for texts in _fetch(conn, statement, chunk_rows):
        skip, done = min(done, len(texts)), done - min(done, len(texts))
        if skip < len(texts):
            yield _unpack(texts[skip:], names)
