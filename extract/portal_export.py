"""Reading a portal export (CSV in any common encoding, or XLSX) into `raw_claims`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from extract.errors import MissingColumnsError
from extract.headers import match_headers
from extract.tables import read_text_table
from schemas.portal_claim import CLAIM_FIELDS, CLAIM_HEADERS, REQUIRED_CLAIM_FIELDS


def read_portal_export(path: Path | str) -> pd.DataFrame:
    """`raw_claims`: one text column per canonical field, plus `source_file` and `source_line`.

    Fails with `MissingColumnsError` naming the file and columns when a required column is
    absent. Rows that are entirely empty are dropped; every other row is kept for judging.
    """
    path = Path(path)
    table, first_line = read_text_table(path, CLAIM_HEADERS)
    raw_claims = canonical_frame(path, table, first_line, CLAIM_HEADERS, REQUIRED_CLAIM_FIELDS, CLAIM_FIELDS)
    del table
    # Arrow's allocator keeps the memory of the file's table, now freed, unless told to return it.
    pa.default_memory_pool().release_unused()
    return raw_claims


def canonical_frame(
    path: Path,
    table: pd.DataFrame,
    first_line: int,
    accepted: dict[str, tuple[str, ...]],
    required: tuple[str, ...],
    fields: tuple[str, ...],
) -> pd.DataFrame:
    positions = match_headers(list(table.columns), accepted)
    missing = [f for f in required if f not in positions]
    if missing:
        raise MissingColumnsError(path, missing, accepted)
    columns: dict[str, pd.Series] = {}
    for field in fields:
        if field in positions:
            columns[field] = stripped_text(table.iloc[:, positions[field]])
        else:
            columns[field] = pd.Series(pd.NA, index=table.index, dtype="string")
    frame = pd.DataFrame(columns, index=table.index)
    frame["source_file"] = path.name
    frame["source_line"] = (table.index.to_numpy() + first_line).astype("int64")
    blank = frame[list(fields)].isna().all(axis=1)
    return (frame.loc[~blank] if blank.any() else frame).reset_index(drop=True)


def stripped_text(values: pd.Series) -> pd.Series:
    """`values.astype("string").str.strip()` with empty text as missing, on Arrow kernels and in
    one chunk (later takes and filters would otherwise concatenate the chunks every time)."""
    text = pa.array(values.astype("string").array)  # pandas keeps text as Arrow `large_string`
    trimmed = pc.utf8_trim_whitespace(text)
    empty = pc.equal(trimmed, "")
    if pc.any(empty).as_py():
        trimmed = pc.if_else(empty, pa.scalar(None, trimmed.type), trimmed)
    if isinstance(trimmed, pa.ChunkedArray):
        trimmed = trimmed.combine_chunks()
    return pd.Series(pd.arrays.ArrowStringArray(trimmed), index=values.index)
