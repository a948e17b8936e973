"""Bulk writes on each database's fast path: executemany on SQLite, COPY on PostgreSQL."""

from __future__ import annotations

import gc
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Connection

SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores and parses DateTime on SQLite
COPY_TIME = "%Y-%m-%d %H:%M:%S.%f+00:00"  # UTC with an explicit offset: never the session's time zone


def _utc(column: pd.Series) -> pd.Series:
    # A naive time in the ledger is UTC by convention (SQLite keeps no offset).
    return column.dt.tz_convert("UTC") if column.dt.tz is not None else column.dt.tz_localize("UTC")


SQLITE_CHUNK_ROWS = 10_000  # bounds the Python objects alive at once (~20 MB); all chunks share one transaction


def _python_column(column: pd.Series) -> list:
    """A column as the driver's Python values; None for every kind of missing value (NULL)."""
    if pd.api.types.is_datetime64_any_dtype(column):
        # Times as SQLAlchemy's SQLite text (UTC); a run's timestamps repeat, so format each once.
        codes, uniques = pd.factorize(column)
        texts = _utc(pd.Series(uniques)).dt.strftime(SQLITE_TIME).to_numpy(dtype=object)
        return np.append(texts, np.array([None], dtype=object))[codes].tolist()  # code -1 (missing): None
    if pd.api.types.is_bool_dtype(column) and not column.hasnans:
        return column.astype(bool).tolist()
    if isinstance(column.dtype, pd.StringDtype) and column.dtype.storage == "pyarrow":
        return pa.array(column).to_pylist()  # straight from Arrow: no object array in between
    return column.astype(object).where(column.notna(), None).tolist()


@contextmanager
def _collector_paused() -> Iterator[None]:
    # A bulk write makes millions of short-lived tuples and strings, none in a cycle; each batch
    # of them would wake the cyclic collector to scan every object alive (~20% of a load's CPU).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _one_value(column: pd.Series) -> tuple[bool, object]:
    """(True, the value as bound) when every row of `column` holds the same value (or none)."""
    if column.empty:
        return False, None
    if column.isna().all():
        return True, None
    if column.hasnans or not bool((column == column.iloc[0]).all()):
        return False, None
    value = _python_column(column.iloc[:1])[0]
    # A literal must mean what the bound value means: no NUL in SQL text, no inf/nan literal.
    if (isinstance(value, str) and "\x00" in value) or (isinstance(value, float) and not math.isfinite(value)):
        return False, None
    return True, value


def _split_constants(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, object]]:
    """The columns that vary, and those that hold one value throughout (as bound values).

    SQLite's cost is per value bound: a column with one value for every row (the one export's
    name, the first version of every row sent, an optional field nobody filled) goes into the
    statement once as a literal instead.
    """
    constants = {}
    for name in frame.columns[1:]:  # one column stays bound: a statement binds something per row
        same, value = _one_value(frame[name])
        if same:
            constants[name] = value
    return frame.drop(columns=list(constants)), constants


def _sqlite_executemany(conn: Connection, statement: str, frame: pd.DataFrame) -> None:
    with _collector_paused():
        for start in range(0, len(frame), SQLITE_CHUNK_ROWS):
            chunk = frame.iloc[start : start + SQLITE_CHUNK_ROWS]
            rows = list(zip(*(_python_column(chunk[c]) for c in chunk.columns), strict=True))
            conn.exec_driver_sql(statement, rows)
            del rows


def _sqlite_literal(value: object) -> str:
    """A run-wide value written once into the statement instead of bound on every row."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime):
        # As SQLAlchemy stores a DateTime on SQLite: UTC, without an offset.
        return _sqlite_literal((value.astimezone(UTC) if value.tzinfo else value).strftime(SQLITE_TIME))
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no SQLite literal for {type(value).__name__}")


def _insert_sql(table: str, frame: pd.DataFrame, constants: Mapping[str, object]) -> str:
    columns = ", ".join(f'"{c}"' for c in [*frame.columns, *constants])
    values = ", ".join(["?"] * frame.shape[1] + [_sqlite_literal(v) for v in constants.values()])
    return f"INSERT INTO {table} ({columns}) VALUES ({values})"


def _csv_field(column: pd.Series) -> pd.Series:
    """One column as PostgreSQL CSV fields: every value quoted, NULL as the bare empty field.

    Quoting every value keeps an empty string apart from NULL and carries commas, quotes and
    line breaks through unchanged; times go as UTC with the offset spelt out.
    """
    if pd.api.types.is_datetime64_any_dtype(column):
        text = _utc(column).dt.strftime(COPY_TIME).astype("string")
    elif pd.api.types.is_bool_dtype(column):
        text = column.map({True: "true", False: "false"}).astype("string")
    else:
        text = column.astype("string")
    quoted = '"' + text.str.replace('"', '""', regex=False) + '"'
    return quoted.fillna("")


def _csv_text(frame: pd.DataFrame) -> str:
    fields = [_csv_field(frame[c]).reset_index(drop=True) for c in frame.columns]
    lines = fields[0].str.cat(fields[1:], sep=",") if len(fields) > 1 else fields[0]
    return lines.str.cat(sep="\n") + "\n"


def _copy(conn: Connection, table: str, frame: pd.DataFrame) -> None:
    columns = ", ".join(f'"{c}"' for c in frame.columns)
    statement = f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv)"
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    dbapi = conn.dialect.loaded_dbapi
    try:
        with cursor.copy(statement) as copy:
            copy.write(_csv_text(frame))
    except dbapi.Error as exc:
        # COPY runs on the driver's cursor, outside SQLAlchemy: give its errors SQLAlchemy's classes
        # (a unique violation becomes IntegrityError) so callers handle both databases alike.
        raise sa.exc.DBAPIError.instance(
            statement, None, exc, dbapi.Error, hide_parameters=True, dialect=conn.dialect
        ) from None


def insert_frame(
    conn: Connection, table: sa.Table, frame: pd.DataFrame, constants: Mapping[str, object] | None = None
) -> None:
    """Insert every row of `frame`; `constants` are columns with one value for every row
    (a run id, a time), given once rather than repeated in the frame."""
    if frame.empty:
        return
    constants = constants or {}
    if conn.dialect.name == "postgresql":
        _copy(conn, table.name, frame.assign(**constants))
        return
    frame, same = _split_constants(frame)
    constants = {**same, **constants}
    _sqlite_executemany(conn, _insert_sql(table.name, frame, constants), frame)


def upsert_frame(
    conn: Connection,
    table: sa.Table,
    frame: pd.DataFrame,
    key: str,
    update_sql: dict[str, str],
    constants: Mapping[str, object] | None = None,
) -> None:
    """Insert or update on `key`; `update_sql` maps a column to its SQL on conflict
    (`excluded.col` is the new value, `{table}.col` the stored one); `constants` as in `insert_frame`."""
    if frame.empty:
        return
    constants = constants or {}
    updates = ", ".join(f'"{c}" = {sql}' for c, sql in update_sql.items())
    conflict = f'ON CONFLICT ("{key}") DO UPDATE SET {updates}'
    if conn.dialect.name == "postgresql":
        frame = frame.assign(**constants)
        columns = ", ".join(f'"{c}"' for c in frame.columns)
        staging = f"staging_{table.name}"
        conn.exec_driver_sql(f"CREATE TEMP TABLE {staging} (LIKE {table.name} INCLUDING DEFAULTS) ON COMMIT DROP")
        _copy(conn, staging, frame)
        conn.exec_driver_sql(f"INSERT INTO {table.name} ({columns}) SELECT {columns} FROM {staging} {conflict}")
        conn.exec_driver_sql(f"DROP TABLE {staging}")
        return
    frame, same = _split_constants(frame)
    constants = {**same, **constants}
    _sqlite_executemany(conn, f"{_insert_sql(table.name, frame, constants)} {conflict}", frame)


def read_frame(conn: Connection, query: sa.Select, columns: Sequence[str] | None = None) -> pd.DataFrame:
    result = conn.execute(query)
    return pd.DataFrame(result.fetchall(), columns=list(columns or result.keys()))


def read_raw_frame(conn: Connection, query: sa.Select, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Like `read_frame` but from the driver's plain tuples, without SQLAlchemy's result rows and
    type processing (2-4x faster at a million rows): times come back as stored, flags as 0/1.
    For readers that parse what they read."""
    result = conn.execute(query)
    names = list(columns or result.keys())
    rows = result.cursor.fetchall() if result.cursor is not None else []
    result.close()
    return pd.DataFrame.from_records(rows, columns=names)
