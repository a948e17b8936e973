"""Reading a portal export (CSV in any common encoding, or XLSX) into `raw_claims`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

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
    return canonical_frame(path, table, first_line, CLAIM_HEADERS, REQUIRED_CLAIM_FIELDS, CLAIM_FIELDS)


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
            values = table.iloc[:, positions[field]].astype("string").str.strip()
            columns[field] = values.mask(values == "")
        else:
            columns[field] = pd.Series(pd.NA, index=table.index, dtype="string")
    frame = pd.DataFrame(columns, index=table.index)
    frame["source_file"] = path.name
    frame["source_line"] = (table.index.to_numpy() + first_line).astype("int64")
    blank = frame[list(fields)].isna().all(axis=1)
    return frame.loc[~blank].reset_index(drop=True)
