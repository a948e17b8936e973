"""Bulk writes on each database's fast path: executemany on SQLite, COPY on PostgreSQL."""

from __future__ import annotations

import io
from collections.abc import Sequence

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection


SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores and parses DateTime on SQLite


def _rows(frame: pd.DataFrame) -> list[tuple]:
    # Times as SQLAlchemy's SQLite text (UTC); None for every kind of missing value (NULL).
    times = {
        c: frame[c].dt.tz_convert("UTC").dt.strftime(SQLITE_TIME) if frame[c].dt.tz else frame[c].dt.strftime(SQLITE_TIME)
        for c in frame.columns
        if pd.api.types.is_datetime64_any_dtype(frame[c])
    }
    if times:
        frame = frame.assign(**times)
    clean = frame.astype(object).where(frame.notna(), None)
    return list(clean.itertuples(index=False, name=None))


def _copy(conn: Connection, table: str, frame: pd.DataFrame) -> None:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=False)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    columns = ", ".join(f'"{c}"' for c in frame.columns)
    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv)") as copy:
        copy.write(buffer.getvalue())


def insert_frame(conn: Connection, table: sa.Table, frame: pd.DataFrame) -> None:
    if frame.empty:
        return
    if conn.dialect.name == "postgresql":
        _copy(conn, table.name, frame)
        return
    columns = ", ".join(f'"{c}"' for c in frame.columns)
    marks = ", ".join("?" for _ in frame.columns)
    conn.exec_driver_sql(f"INSERT INTO {table.name} ({columns}) VALUES ({marks})", _rows(frame))


def upsert_frame(
    conn: Connection, table: sa.Table, frame: pd.DataFrame, key: str, update_sql: dict[str, str]
) -> None:
    """Insert or update on `key`; `update_sql` maps a column to its SQL on conflict
    (`excluded.col` is the new value, `{table}.col` the stored one)."""
    if frame.empty:
        return
    columns = ", ".join(f'"{c}"' for c in frame.columns)
    updates = ", ".join(f'"{c}" = {sql}' for c, sql in update_sql.items())
    conflict = f'ON CONFLICT ("{key}") DO UPDATE SET {updates}'
    if conn.dialect.name == "postgresql":
        staging = f"staging_{table.name}"
        conn.exec_driver_sql(f"CREATE TEMP TABLE {staging} (LIKE {table.name} INCLUDING DEFAULTS) ON COMMIT DROP")
        _copy(conn, staging, frame)
        conn.exec_driver_sql(f"INSERT INTO {table.name} ({columns}) SELECT {columns} FROM {staging} {conflict}")
        conn.exec_driver_sql(f"DROP TABLE {staging}")
        return
    marks = ", ".join("?" for _ in frame.columns)
    conn.exec_driver_sql(f"INSERT INTO {table.name} ({columns}) VALUES ({marks}) {conflict}", _rows(frame))


def read_frame(conn: Connection, query: sa.Select, columns: Sequence[str] | None = None) -> pd.DataFrame:
    result = conn.execute(query)
    return pd.DataFrame(result.fetchall(), columns=list(columns or result.keys()))
