"""The floor: the least work that reads, stores and writes the same rows, with nothing else.

- read: `pandas.read_csv(dtype=str, engine="pyarrow")` (pandas' fastest reader: the floor is the
  least work, so the pipeline is measured against the best a plain script could do);
- store: one `sqlite3` `executemany` of tuples into one TEXT table, one transaction, on the
  ledger's own pragmas (WAL, synchronous=FULL), timed with the frame -> tuples conversion (made
  column by column with the cyclic collector paused, as the ledger's own bulk writes do);
- write: one sheet of inline strings streamed into an XLSX zip (no styles, no shared strings,
  ZIP_DEFLATED at zlib's default level), built a chunk of rows at a time with Arrow kernels.
"""

from __future__ import annotations

import gc
import sqlite3
import time
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

CHUNK_ROWS = 100_000
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_PARTS = {
    "[Content_Types].xml": (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{_DOC}.sheet.main+xml"/>'
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_DOC}.worksheet+xml"/></Types>'
    ),
    "_rels/.rels": (
        f'<Relationships xmlns="{_PKG}"><Relationship Id="rId1" '
        f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/workbook.xml": (
        f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>'
        '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        f'<Relationships xmlns="{_PKG}"><Relationship Id="rId1" '
        f'Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
    ),
}


def read_floor(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, engine="pyarrow")


def frame_tuples(frame: pd.DataFrame) -> list[tuple]:
    """Rows as tuples of str or None (what sqlite3 binds)."""
    columns = [frame[c].to_numpy(dtype=object, na_value=None).tolist() for c in frame.columns]
    return list(zip(*columns, strict=True))


def sqlite_floor(frame: pd.DataFrame, database: Path) -> dict[str, float]:
    """Insert `frame` into a fresh one-table database; seconds of the conversion and the insert."""
    gc.disable()  # millions of tuples, no cycles: as load/ledger/bulk.py
    try:
        start = time.perf_counter()
        rows = frame_tuples(frame)
        converted = time.perf_counter()
        conn = sqlite3.connect(database, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        names = [f"c{i}" for i in range(frame.shape[1])]
        conn.execute(f"CREATE TABLE export ({', '.join(n + ' TEXT' for n in names)})")
        conn.execute("BEGIN")
        conn.executemany(f"INSERT INTO export VALUES ({', '.join('?' for _ in names)})", rows)
        conn.execute("COMMIT")
        conn.close()
        done = time.perf_counter()
    finally:
        gc.enable()
    return {"convert_seconds": converted - start, "insert_seconds": done - converted}


def _column_letters(n: int) -> list[str]:
    letters = []
    for i in range(1, n + 1):
        name = ""
        while i:
            i, rem = divmod(i - 1, 26)
            name = chr(65 + rem) + name
        letters.append(name)
    return letters


def _s(text: str) -> pa.Scalar:
    # Arrow's join kernel refuses to mix string widths: every piece is a large string.
    return pa.scalar(text, pa.large_string())


def _escaped(column: pa.ChunkedArray) -> pa.ChunkedArray:
    text = pc.cast(column, pa.large_string())
    for raw, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        text = pc.replace_substring(text, raw, entity)
    return text


def _sheet_chunk(chunk: pa.Table, first_row: int, letters: list[str]) -> bytes:
    """`<row>` elements of `chunk`; a missing value is no cell at all (as Excel writes it)."""
    numbers = pc.cast(pa.array(range(first_row, first_row + chunk.num_rows), pa.int64()), pa.large_string())
    cells = []
    for letter, column in zip(letters, chunk.columns, strict=True):
        cell = pc.binary_join_element_wise(
            _s(f'<c r="{letter}'), numbers, _s('" t="inlineStr"><is><t>'), _escaped(column), _s("</t></is></c>"), _s("")
        )
        cells.append(pc.fill_null(cell, ""))
    rows = pc.binary_join_element_wise(_s('<row r="'), numbers, _s('">'), *cells, _s("</row>"), _s(""))
    if isinstance(rows, pa.ChunkedArray):
        rows = rows.combine_chunks()
    # No nulls here, so the rows' text is the data buffer between the first and last offsets.
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int64)
    data = rows.buffers()[2]
    return memoryview(data)[int(offsets[rows.offset]) : int(offsets[rows.offset + len(rows)])].tobytes()


def xlsx_floor(frame: pd.DataFrame, path: Path, header: list[str] | None = None) -> None:
    """One sheet of inline strings: header row, then every row of `frame`, streamed into the zip."""
    table = pa.Table.from_pandas(frame.astype("string"), preserve_index=False)
    letters = _column_letters(table.num_columns)
    head = "".join(
        f'<c r="{letter}1" t="inlineStr"><is><t>{escape(str(name))}</t></is></c>'
        for letter, name in zip(letters, header or list(frame.columns), strict=True)
    )
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, xml in _PARTS.items():
            archive.writestr(name, _DECL + xml)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(f'{_DECL}<worksheet xmlns="{_MAIN}"><sheetData><row r="1">{head}</row>'.encode())
            for start in range(0, table.num_rows, CHUNK_ROWS):
                sheet.write(_sheet_chunk(table.slice(start, CHUNK_ROWS), start + 2, letters))
            sheet.write(b"</sheetData></worksheet>")
