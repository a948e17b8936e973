"""Reading the activity map staff maintain (CSV or XLSX) into `raw_activity_map`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from extract.portal_export import canonical_frame
from extract.tables import read_text_table
from schemas.activity_map import MAP_HEADERS, REQUIRED_MAP_FIELDS


def read_activity_map(path: Path | str) -> pd.DataFrame:
    """The map as text columns plus `source_file`/`source_line`; judged in `transform.mapping`."""
    path = Path(path)
    table, first_line = read_text_table(path, MAP_HEADERS)
    return canonical_frame(path, table, first_line, MAP_HEADERS, REQUIRED_MAP_FIELDS, tuple(MAP_HEADERS))
