"""Keeping report cells inert: a text a spreadsheet would run as a formula is stored as text.

Excel runs a cell that starts with `=`, `+`, `-` or `@` (and some readers trim a leading tab,
CR or LF first). In the workbook such a text is stored as a string cell with the quote prefix
set, so it shows exactly the original characters and is never evaluated. CSV has no cell types:
there the value gets a leading apostrophe, the convention spreadsheets read as "text".

XML text cannot carry a bare carriage return (a parser reads it as a line feed), so in the
workbook a CR is written as the line feed every reader would see anyway.
"""

from __future__ import annotations

import re

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
# Characters XML 1.0 (and so openpyxl) refuses; they carry no meaning in a report.
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def looks_like_formula(value: object) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_START)


def text_cell(sheet: WriteOnlyWorksheet, value: object) -> object:
    """A value ready for `sheet.append`: formula-like text becomes an inert string cell."""
    if isinstance(value, str):
        value = _ILLEGAL_XML.sub("\ufffd", value).replace("\r\n", "\n").replace("\r", "\n")
        if value.startswith(FORMULA_START):
            cell = WriteOnlyCell(sheet, value)
            cell.data_type = "s"
            cell.quotePrefix = True
            return cell
    return value


def csv_safe_table(table: pa.Table) -> pa.Table:
    """`table` with a leading apostrophe on every text a spreadsheet would run (Arrow kernels)."""
    columns = []
    for column in table.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            starts = pa.array(FORMULA_START, column.type)
            risky = pc.is_in(pc.utf8_slice_codeunits(column, 0, 1), value_set=starts)
            if pc.any(risky).as_py():  # rare: most columns pass through untouched
                quoted = pc.binary_join_element_wise(pa.scalar("'", column.type), column, pa.scalar("", column.type))
                column = pc.if_else(risky, quoted, column)
        columns.append(column)
    return pa.table(columns, names=table.column_names)


def csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text columns carry a leading apostrophe where a spreadsheet would run them."""
    safe = csv_safe_table(pa.Table.from_pandas(frame, preserve_index=False)).to_pandas()
    return safe.set_axis(frame.index)
