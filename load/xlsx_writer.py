"""Deterministic single-sheet .xlsx writer for PARS batch files.

Sheet XML is built a chunk of rows at a time with vectorised Arrow string kernels (no per-row Python) and
streamed into the zip entry, so a million-row batch never exists as one giant string.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import quoteattr

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from openpyxl.utils import get_column_letter

from extract.checksums import sha256_file

CHUNK_ROWS = 200_000
# Deflate level 3, measured on 1M x 14 PARS rows (567 MB of XML, built in ~3.4 s CPU): 67.8 MB in ~4.2 s CPU
# on the second thread. Level 1 gives 73.6 MB for ~3.0 s; level 6 gives 59.3 MB for ~8.6 s, and then
# compression, not building, sets the pace.
COMPRESS_LEVEL = 3
MAX_ROWS = 1_048_576  # Excel's sheet limit: it drops whatever lies beyond

_STR = pd.StringDtype("pyarrow")
_LS = pa.large_string()  # what pandas' Arrow strings use; the join kernel refuses mixed string widths
_NS = "http://schemas.openxmlformats.org"
_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
# Control characters XML 1.0 forbids, plus CR (parsers fold CR LF into LF), are spelt _xHHHH_ as Excel does;
# the noncharacters U+FFFE/U+FFFF carry no data (and calamine will not decode them), so they are dropped.
_UNSAFE = {chr(c): f"_x{c:04X}_" for c in (*range(0x09), 0x0B, 0x0C, 0x0D, *range(0x0E, 0x20))}
_UNSAFE |= {"\ufffe": "", "\uffff": ""}
_NEEDS_ENCODING = r"[\x00-\x08\x0b-\x1f" + "\ufffe\uffff" + r"]|_x[0-9A-Fa-f]{4}_"
_NONCHARACTERS = ("\ufffe".encode(), "\uffff".encode())
# Bytes that need no escaping: all but &, <, > and the C0 controls other than tab and LF.
_PLAIN_BYTES = bytes(b for b in range(256) if b not in b"&<>" and (b >= 0x20 or b in b"\t\n"))


def _rels(*targets: tuple[str, str]) -> str:
    links = (f'<Relationship Id="rId{n}" Type="{t}" Target="{to}"/>' for n, (t, to) in enumerate(targets, 1))
    return f'<Relationships xmlns="{_NS}/package/2006/relationships">{"".join(links)}</Relationships>'


_OFFICE = f"{_NS}/officeDocument/2006"
_DOC_TYPE = "application/vnd.openxmlformats-officedocument"
_CONTENT_TYPES = (
    f'<Types xmlns="{_NS}/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/docProps/app.xml" ContentType="{_DOC_TYPE}.extended-properties+xml"/>'
    '<Override PartName="/docProps/core.xml" '
    'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{_DOC_TYPE}.spreadsheetml.sheet.main+xml"/>'
    f'<Override PartName="/xl/styles.xml" ContentType="{_DOC_TYPE}.spreadsheetml.styles+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_DOC_TYPE}.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
_ROOT_RELS = _rels(
    (f"{_OFFICE}/relationships/officeDocument", "xl/workbook.xml"),
    (f"{_NS}/package/2006/relationships/metadata/core-properties", "docProps/core.xml"),
    (f"{_OFFICE}/relationships/extended-properties", "docProps/app.xml"),
)
_APP = f'<Properties xmlns="{_OFFICE}/extended-properties"><Application>cme-relay</Application></Properties>'
_WORKBOOK_RELS = _rels(
    (f"{_OFFICE}/relationships/worksheet", "worksheets/sheet1.xml"),
    (f"{_OFFICE}/relationships/styles", "styles.xml"),
)
_MAIN = f"{_NS}/spreadsheetml/2006/main"
# The smallest stylesheet Excel opens without offering a repair (it insists on both default fills).
_STYLES = (
    f'<styleSheet xmlns="{_MAIN}"><fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
)


def write_text_atomic(path: Path, data: bytes) -> str:
    """Atomically replace `path` with `data` (the tab-delimited batch variant); returns its SHA-256 hex."""
    return _write_atomic(Path(path), lambda fh: fh.write(data))


def draft_text(path: Path, data: bytes) -> DraftFile:
    """`data` drafted beside `path`, published by the caller."""
    return _draft(Path(path), lambda fh: fh.write(data))


def write_xlsx_sheet(path: Path, frame: pd.DataFrame, **options: Any) -> str:
    """Atomically replace `path` with a one-sheet workbook (see `draft_xlsx_sheet`); returns its SHA-256."""
    return _published(draft_xlsx_sheet(path, frame, **options))


def draft_xlsx_sheet(
    path: Path,
    frame: pd.DataFrame,
    *,
    sheet_name: str = "Sheet1",
    header: Sequence[str],
    title_row: str | None = None,
    numeric_columns: Collection[str] = (),
    timestamp: tuple[int, int, int, int, int, int] = (2024, 1, 1, 0, 0, 0),
) -> DraftFile:
    """A one-sheet workbook holding `frame`, drafted beside `path` (`DraftFile.publish` puts it there).

    Rows: `title_row` (if given) in A1, then `header`, whose names map positionally onto the frame's
    columns, then the data. Columns named in `numeric_columns` become numbers, every other value an inline
    string (never a formula); None/NaN/NA/"" leave the cell out. Equal input gives byte-equal files.
    """
    if len(header) != frame.shape[1] or not header:
        raise ValueError(f"{len(header)} header names for a frame of {frame.shape[1]} columns")
    if unknown := set(numeric_columns) - set(frame.columns):
        raise ValueError(f"numeric_columns not in the frame: {sorted(map(str, unknown))}")
    bad_name = not 0 < len(sheet_name) <= 31 or "'" in sheet_name[0] + sheet_name[-1]
    if bad_name or set("[]:*?/\\") & set(sheet_name):
        raise ValueError(f"invalid Excel sheet name: {sheet_name!r}")
    first_data_row = 2 if title_row is None else 3
    last_row = first_data_row - 1 + len(frame)
    if last_row > MAX_ROWS:
        raise ValueError(f"{last_row} rows exceed Excel's limit of {MAX_ROWS}")
    letters = [get_column_letter(i) for i in range(1, len(header) + 1)]
    numeric = [name in numeric_columns for name in frame.columns]
    stamp = datetime(*timestamp).isoformat() + "Z"
    parts = {
        "[Content_Types].xml": _CONTENT_TYPES,
        "_rels/.rels": _ROOT_RELS,
        "docProps/app.xml": _APP,
        "docProps/core.xml": f'<cp:coreProperties xmlns:cp="{_NS}/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:creator>cme-relay</dc:creator>'
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified></cp:coreProperties>',
        "xl/workbook.xml": f'<workbook xmlns="{_MAIN}" xmlns:r="{_OFFICE}/relationships"><sheets>'
        f'<sheet name={quoteattr(sheet_name)} sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": _WORKBOOK_RELS,
        "xl/styles.xml": _STYLES,
    }
    head = [[str(name) for name in header]] if title_row is None else [[title_row], [str(n) for n in header]]
    sheet_head = f'{_DECL}<worksheet xmlns="{_MAIN}"><dimension ref="A1:{letters[-1]}{last_row}"/><sheetData>'
    sheet_head += "".join(
        _rows_xml(pd.DataFrame([cells]), row, letters, [False] * len(cells)).to_pybytes().decode()
        for row, cells in enumerate(head, start=1)
    )

    def write(fh: IO[bytes]) -> None:
        with zipfile.ZipFile(fh, "w") as zf:
            for name, xml in parts.items():
                zf.writestr(_zip_info(name, timestamp), _DECL + xml)
            # No Zip64 (Excel offers to "repair" some Zip64 packages): zipfile raises on close if the sheet
            # XML passes 2 GiB, about 3x what a full 1,048,576-row PARS sheet takes.
            with zf.open(_zip_info("xl/worksheets/sheet1.xml", timestamp), "w") as out:
                out.write(sheet_head.encode())
                # Deflate and CRC release the GIL, so a second thread compresses chunk n while this one builds
                # n+1; waiting for the previous write first keeps the order fixed and memory to two chunks.
                with ThreadPoolExecutor(max_workers=1) as pool:
                    pending = pool.submit(lambda: 0)
                    for start in range(0, len(frame), CHUNK_ROWS):
                        chunk = frame.iloc[start : start + CHUNK_ROWS]
                        xml = _rows_xml(chunk, first_data_row + start, letters, numeric)
                        pending.result()
                        pending = pool.submit(out.write, memoryview(xml))
                    pending.result()
                out.write(b"</sheetData></worksheet>")

    return _draft(Path(path), write)


def _rows_xml(chunk: pd.DataFrame, first_row: int, letters: list[str], numeric: list[bool]) -> pa.Buffer:
    rows = pc.cast(pa.array(np.arange(first_row, first_row + len(chunk))), _LS)
    pieces: list[str | pa.Array] = ['<row r="', rows, '">']
    for position, is_numeric in enumerate(numeric):
        values = chunk.iloc[:, position]
        # Every cell carries its r ref although the schema makes it optional: readers put a ref-less cell
        # next to the previous one, so an omitted (missing) cell would shift the rest of its row, and
        # several readers (ClosedXML, EPPlus, older readxl) reject ref-less cells outright.
        cell: list[str | pa.Array] = [f'<c r="{letters[position]}', rows, '"']
        if is_numeric:
            value = _number_text(values)
            cell += ["><v>", value, "</v></c>"]
        else:
            value = _array(values.astype(_STR), _LS)
            value = pc.if_else(pc.equal(value, ""), pa.scalar(None, _LS), value)
            cell.append(' t="inlineStr"><is><t')
            edged = pc.not_equal(pc.binary_length(pc.ascii_trim_whitespace(value)), pc.binary_length(value))
            if pc.any(edged).as_py():  # xml:space costs ~20 bytes a cell, so only where it is needed
                cell.append(pc.if_else(edged, _s(' xml:space="preserve"'), _s("")))
            if _needs_escaping(value):
                value = _escape(value)
            cell += [">", value, "</t></is></c>"]
        if value.null_count:  # joined on its own so that a missing value drops the whole <c> element
            cell = [pc.binary_join_element_wise(*_merged(cell), _s(""))]
        pieces += cell
    # The rows lie back to back in the Arrow buffer: zlib gets that slice, no Python str is ever built.
    return _utf8(pc.binary_join_element_wise(*_merged([*pieces, "</row>"]), _s(""), null_handling="skip"))


def _array(values: pd.Series, dtype: pa.DataType | None = None) -> pa.Array:
    # pandas hands over a ChunkedArray for Arrow-backed columns (e.g. after pd.concat); kernels then return
    # chunked results, which have no single buffer to write.
    array = pa.array(values, type=dtype)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _utf8(strings: pa.Array) -> pa.Buffer:
    data = strings.buffers()[2]
    if data is None or not len(strings):
        return pa.py_buffer(b"")
    start = strings.offset
    offsets = np.frombuffer(strings.buffers()[1], dtype=np.int64)[start : start + len(strings) + 1]
    return data[offsets[0] : offsets[-1]]


def _needs_escaping(strings: pa.Array) -> bool:
    # Scanning the column's whole buffer is ~10x faster than a regex per value, and usually finds nothing.
    data = _utf8(strings).to_pybytes()
    return bool(data.translate(None, _PLAIN_BYTES)) or any(m in data for m in (b"_x", *_NONCHARACTERS))


def _merged(pieces: list[str | pa.Array]) -> list[pa.Scalar | pa.Array]:
    # The join kernel's cost grows with its argument count, so adjacent literals go in as one scalar.
    out: list[pa.Scalar | pa.Array] = []
    for piece in pieces:
        if isinstance(piece, str) and out and isinstance(out[-1], pa.Scalar):
            out[-1] = _s(out[-1].as_py() + piece)
        else:
            out.append(_s(piece) if isinstance(piece, str) else piece)
    return out


def _number_text(values: pd.Series) -> pa.Array:
    numbers = pd.to_numeric(values.replace("", np.nan))
    if pd.api.types.is_integer_dtype(numbers.dtype):
        return pc.cast(_array(numbers), _LS)
    # + 0.0 turns -0.0 into 0.0, which factorize would otherwise merge with whichever zero came first.
    floats = numbers.to_numpy(dtype=np.float64, na_value=np.nan) + 0.0
    if np.isinf(floats).any():
        raise ValueError(f"column {values.name!r} holds an infinite value, which Excel cannot store")
    # Credit columns hold a handful of distinct values, so each is formatted once: numpy's float->str is
    # Python's shortest round-trip repr (slow per value), and integral values lose the ".0".
    codes, distinct = pd.factorize(floats)
    text = pc.replace_substring_regex(pa.array(distinct.astype("S32")).cast(_LS), r"\.0$", "")
    return pc.take(text, pa.array(codes, mask=codes < 0))


def _escape(text: pa.Array) -> pa.Array:
    special = pc.fill_null(pc.match_substring_regex(text, _NEEDS_ENCODING), False)
    if pc.any(special).as_py():
        # Excel decodes _xHHHH_ in any string, so a literal "_x" in these values is spelt "_x005F_x"; that
        # has to happen before the unsafe characters themselves become _xHHHH_.
        fixed = pc.replace_substring(pc.filter(text, special), "_x", "_x005F_x")
        for char, spelt in _UNSAFE.items():
            fixed = pc.replace_substring(fixed, char, spelt)
        text = pc.replace_with_mask(text, special, fixed)
    for raw, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        text = pc.replace_substring(text, raw, entity)
    return text


def _s(text: str) -> pa.Scalar:
    return pa.scalar(text, _LS)


def _zip_info(name: str, timestamp: tuple[int, int, int, int, int, int]) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=timestamp)
    info.compress_type = zipfile.ZIP_DEFLATED
    # ZipFile.open(ZipInfo) ignores the archive's level, and before 3.13 the per-entry one is private.
    info._compresslevel = COMPRESS_LEVEL  # type: ignore[attr-defined]
    info.create_system = 3  # it defaults to the host OS, which would make the bytes platform-dependent
    info.external_attr = 0o644 << 16
    return info


@dataclass(frozen=True)
class DraftFile:
    """A file written in full (and synced) under a hidden temporary name beside `path`.

    `publish` renames it into place, so `path` only ever holds a whole file: a batch's file can be
    drafted while its rows are committed and published once they are.
    """

    path: Path
    tmp: Path
    sha256: str

    def publish(self) -> str:
        os.replace(self.tmp, self.path)
        if os.name == "posix":  # make the rename itself durable, not just the contents
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        return self.sha256

    def discard(self) -> None:
        self.tmp.unlink(missing_ok=True)


DRAFT_SUFFIX = ".tmp"


def draft_names(name: str) -> str:
    """The glob of the drafts of a file called `name` (hidden: a leading dot)."""
    return f".{name}.*{DRAFT_SUFFIX}"


def _draft(path: Path, write: Callable[[IO[bytes]], object]) -> DraftFile:
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=DRAFT_SUFFIX, dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w+b") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        digest = sha256_file(tmp)  # of the bytes on disk: zipfile seeks back, so the stream is not them
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide the batch from the uploading user
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return DraftFile(path, tmp, digest)


def _write_atomic(path: Path, write: Callable[[IO[bytes]], object]) -> str:
    return _published(_draft(path, write))


def _published(draft: DraftFile) -> str:
    try:
        return draft.publish()
    except BaseException:
        draft.discard()
        raise
