"""Reading a delimited or Excel table as text, wherever its header row is.

Everything is read as text: ids keep their leading zeros and every value is judged later,
in `transform/`, where a bad value becomes a rejection rather than a crash.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from extract.encoding import CSV_ENCODINGS, detect_encoding
from extract.errors import UnreadableFileError
from extract.headers import header_score

__all__ = [
    "CSV_ENCODINGS",
    "StreamRefused",
    "detect_encoding",
    "read_text_table",
    "sniff_delimiter",
    "stream_text_table",
]

EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls"}
HEADER_SEARCH_ROWS = 30
SNIFF_BYTES = 1 << 16


def sniff_delimiter(path: Path, encoding: str) -> str:
    with open(path, encoding=encoding, errors="replace", newline="") as fh:
        sample = fh.read(SNIFF_BYTES)
    try:
        return csv.Sniffer().sniff(sample.splitlines()[0] if sample else ",", delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def read_text_table(path: Path, accepted: Mapping[str, Iterable[str]]) -> tuple[pd.DataFrame, int]:
    """The table as text with its header row, and the 1-based file line of the first data row."""
    if not path.exists():
        raise UnreadableFileError(path, "file not found; check the path.")
    if path.suffix.lower() in EXCEL_SUFFIXES:
        return _read_excel(path, accepted)
    return _read_delimited(path)


def _arrow_options(
    path: Path, encoding: str, delimiter: str, block_size: int | None = None
) -> tuple[list[str], pacsv.ReadOptions, pacsv.ParseOptions, pacsv.ConvertOptions] | None:
    """Arrow's reader options for a file it can keep exact, with the header; None when the
    header cannot be used as column names (missing or repeated)."""
    with open(path, encoding=encoding, newline="") as fh:
        header = next(csv.reader(fh, delimiter=delimiter), None)
    if not header or len(set(header)) != len(header):
        return None
    read = pacsv.ReadOptions(encoding="utf8" if encoding == "utf-8-sig" else encoding)
    if block_size:
        read.block_size = block_size
        read.use_threads = False  # one block in memory at a time, not one per core read ahead
    return (
        header,
        read,
        pacsv.ParseOptions(delimiter=delimiter, ignore_empty_lines=False, newlines_in_values=False),
        pacsv.ConvertOptions(
            column_types={name: pa.large_string() for name in header},  # pandas keeps large_string
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )


def _read_with_arrow(path: Path, encoding: str, delimiter: str) -> pd.DataFrame | None:
    """The fast path (Arrow's reader, about 7x pandas' at a million rows) for well-formed files.

    It refuses what it cannot keep exact — a ragged row, a repeated header — and the caller then
    reads with pandas, which says what is wrong. A blank line is a row of empty values (dropped
    later, its line still counted).
    """
    options = _arrow_options(path, encoding, delimiter)
    if options is None:
        return None
    header, read, parse, convert = options
    try:
        table = pacsv.read_csv(path, read_options=read, parse_options=parse, convert_options=convert)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, LookupError):
        return None
    if table.column_names != header:  # e.g. a BOM the reader kept
        return None
    return as_text_frame(table)


def as_text_frame(table: pa.Table) -> pd.DataFrame:
    return table.to_pandas(types_mapper={pa.large_string(): pd.StringDtype("pyarrow")}.get)


def stream_text_table(path: Path, block_bytes: int) -> Iterator[tuple[pd.DataFrame, int]] | None:
    """The delimited file in blocks of about `block_bytes`, each with the 1-based file line of its
    first row, on Arrow's exact fast path; None when that path cannot take the file from the start.
    A defect further in raises `StreamRefused` (the caller reads the file whole, to say what it is)."""
    if not path.exists() or path.suffix.lower() in EXCEL_SUFFIXES:
        return None
    try:
        encoding = detect_encoding(path)
        # Arrow's streaming reader reads up to 32 blocks ahead: small blocks, gathered below.
        options = _arrow_options(
            path, encoding, sniff_delimiter(path, encoding), max(block_bytes // READ_AHEAD, 1 << 16)
        )
    except (OSError, ValueError):
        return None
    if options is None:
        return None
    header, read, parse, convert = options
    try:
        reader = pacsv.open_csv(path, read_options=read, parse_options=parse, convert_options=convert)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, LookupError):
        return None
    if reader.schema.names != header:
        return None
    return _blocks(reader, block_bytes)


READ_AHEAD = 32


class StreamRefused(Exception):
    """Arrow's fast path met a row it cannot keep exact, past the first block."""


def _blocks(reader: pacsv.CSVStreamingReader, block_bytes: int) -> Iterator[tuple[pd.DataFrame, int]]:
    line = 2
    done = False
    while not done:
        batches: list[pa.RecordBatch] = []
        size = 0
        while size < block_bytes:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                done = True
                break
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                raise StreamRefused() from None  # Arrow's message quotes the row: never passed on
            batches.append(batch)
            size += batch.nbytes
        if batches:
            frame = as_text_frame(pa.Table.from_batches(batches).combine_chunks())
            yield frame, line
            line += len(frame)


def _read_delimited(path: Path) -> tuple[pd.DataFrame, int]:
    try:
        encoding = detect_encoding(path)
        delimiter = sniff_delimiter(path, encoding)
        fast = _read_with_arrow(path, encoding, delimiter)
        if fast is not None:
            return fast, 2
        frame = pd.read_csv(
            path,
            dtype=str,
            encoding=encoding,
            sep=delimiter,
            keep_default_na=False,
            skip_blank_lines=False,
        )
    except pd.errors.EmptyDataError:
        raise UnreadableFileError(path, "the file is empty; export it again.") from None
    except (pd.errors.ParserError, ValueError, OSError) as exc:
        # The parser's message names the line; it quotes no cell content.
        raise UnreadableFileError(path, f"cannot be read as CSV ({exc}); export it again as CSV or XLSX.") from None
    return frame, 2


def _read_excel(path: Path, accepted: Mapping[str, Iterable[str]]) -> tuple[pd.DataFrame, int]:
    try:
        grid = pd.read_excel(path, sheet_name=0, header=None, dtype=str, engine="calamine")
    except Exception as exc:  # calamine raises its own types for corrupt or encrypted workbooks
        raise UnreadableFileError(
            path, f"cannot be read as an Excel workbook ({type(exc).__name__}); save it again as XLSX."
        ) from None
    # Offices put titles and blank rows above the header: take the row that names most fields.
    head = grid.head(HEADER_SEARCH_ROWS)
    scores = [header_score(list(row), accepted) for row in head.itertuples(index=False)]
    header_row = max(range(len(scores)), key=scores.__getitem__) if scores else 0
    if not scores or scores[header_row] == 0:
        return pd.DataFrame(), 2
    headers = [("" if pd.isna(h) else str(h)) for h in grid.iloc[header_row]]
    body = grid.iloc[header_row + 1 :].reset_index(drop=True)
    body.columns = pd.Index(headers)
    return body, header_row + 2
