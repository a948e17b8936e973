"""Deterministic single-sheet .xlsx writer: sheet XML is built with vectorised string ops and streamed
into the zip in chunks, so a million-row PARS batch neither loops per row in Python nor sits in memory
as one giant string."""

from __future__ import annotations

import hashlib
import os
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

CHUNK_ROWS = 200_000
COMPRESS_LEVEL = 1
MAX_ROWS = 1_048_576  # Excel's hard sheet limit; beyond it Excel silently drops rows
MAX_COLS = 16_384

_STR = pd.StringDtype("pyarrow")
_LS = pa.large_string()  # pandas' Arrow-backed strings; kernels refuse to mix string and large_string
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
# Characters XML 1.0 forbids, plus CR, which XML parsers would fold into LF; Excel spells them _xHHHH_.
_UNSAFE = [chr(c) for c in (*range(0x00, 0x09), 0x0B, 0x0C, 0x0D, *range(0x0E, 0x20), 0xFFFE, 0xFFFF)]
_NEEDS_ENCODING = r"[\x00-\x08\x0b-\x1f" + "\ufffe\uffff" + r"]|_x[0-9A-Fa-f]{4}_"
_MAYBE_SPECIAL = _NEEDS_ENCODING + r"|[&<>]|^\s|\s$"

_CONTENT_TYPES = (
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/docProps/app.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
    '<Override PartName="/docProps/core.xml" '
    'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
)
_ROOT_RELS = (
    f'<Relationships xmlns="{_PKG_REL_NS}">'
    f'<Relationship Id="rId1" Type="{_REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
    f'<Relationship Id="rId2" Type="{_PKG_REL_NS}/metadata/core-properties" Target="docProps/core.xml"/>'
    f'<Relationship Id="rId3" Type="{_REL_NS}/extended-properties" Target="docProps/app.xml"/>'
    "</Relationships>"
)
_APP = (
    '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
    "<Application>cme-relay</Application></Properties>"
)
_WORKBOOK_RELS = (
    f'<Relationships xmlns="{_PKG_REL_NS}">'
    f'<Relationship Id="rId1" Type="{_REL_NS}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_REL_NS}/styles" Target="styles.xml"/></Relationships>'
)
# The smallest stylesheet Excel accepts without a repair prompt (it insists on the two default fills).
_STYLES = (
    f'<styleSheet xmlns="{_MAIN_NS}"><fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_text_atomic(path: Path, data: bytes) -> str:
    return _write_atomic(Path(path), lambda fh: fh.write(data))


def write_xlsx_sheet(
    path: Path,
    frame: pd.DataFrame,
    *,
    sheet_name: str = "Sheet1",
    header: Sequence[str],
    title_row: str | None = None,
    numeric_columns: Collection[str] = (),
    timestamp: tuple[int, int, int, int, int, int] = (2024, 1, 1, 0, 0, 0),
) -> str:
    """Write `frame` as the only sheet of a new .xlsx at `path`; returns the file's SHA-256 hex.

    Frame columns map positionally onto `header`; `numeric_columns` names frame columns written as numbers.
    """
    if len(header) != frame.shape[1]:
        raise ValueError(f"header has {len(header)} names but the frame has {frame.shape[1]} columns")
    if not 0 < len(header) <= MAX_COLS:
        raise ValueError(f"need 1..{MAX_COLS} columns, got {len(header)}")
    if len(sheet_name) > 31 or not sheet_name.strip("'") or any(c in sheet_name for c in "[]:*?/\\"):
        raise ValueError(f"invalid Excel sheet name: {sheet_name!r}")
    first_data_row = 3 if title_row is not None else 2
    last_row = first_data_row - 1 + len(frame)
    if last_row > MAX_ROWS:
        raise ValueError(f"{last_row} rows exceed Excel's limit of {MAX_ROWS}")
    letters = [_column_letter(i) for i in range(len(header))]
    numeric = [name in numeric_columns for name in frame.columns]
    stamp = datetime(*timestamp).isoformat() + "Z"
    core = (
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:creator>cme-relay</dc:creator>'
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified></cp:coreProperties>'
    )
    workbook = (
        f'<workbook xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}"><sheets><sheet name="{_attr(sheet_name)}"'
        ' sheetId="1" r:id="rId1"/></sheets></workbook>'
    )
    head_rows = [] if title_row is None else [[title_row]]
    head_rows.append([str(name) for name in header])
    head_xml = b"".join(
        _rows_xml(pd.DataFrame([cells]), number, letters, [False] * len(cells)).to_pybytes()
        for number, cells in enumerate(head_rows, start=1)
    )

    def write(fh: IO[bytes]) -> None:
        with zipfile.ZipFile(fh, "w") as zf:
            for name, xml in (
                ("[Content_Types].xml", _CONTENT_TYPES),
                ("_rels/.rels", _ROOT_RELS),
                ("docProps/app.xml", _APP),
                ("docProps/core.xml", core),
                ("xl/workbook.xml", workbook),
                ("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS),
                ("xl/styles.xml", _STYLES),
            ):
                zf.writestr(_zip_info(name, timestamp), _DECL + xml)
            # Zip64 is decided up front and a >2 GiB entry without it is fatal; only big sheets pay for it.
            big = len(frame) * len(header) > 2_000_000
            with zf.open(_zip_info("xl/worksheets/sheet1.xml", timestamp), "w", force_zip64=big) as out:
                out.write(
                    f'{_DECL}<worksheet xmlns="{_MAIN_NS}"><dimension ref="A1:{letters[-1]}{last_row}"/>'
                    f"<sheetData>".encode()
                    + head_xml
                )
                # Deflate and CRC release the GIL, so one thread compresses chunk n while this one builds n+1;
                # waiting on the previous write first keeps the order fixed and at most two chunks in memory.
                with ThreadPoolExecutor(max_workers=1) as pool:
                    pending = pool.submit(lambda: None)
                    for start in range(0, len(frame), CHUNK_ROWS):
                        chunk = frame.iloc[start : start + CHUNK_ROWS]
                        xml = _rows_xml(chunk, first_data_row + start, letters, numeric)
                        pending.result()
                        pending = pool.submit(out.write, memoryview(xml))
                    pending.result()
                out.write(b"</sheetData></worksheet>")

    return _write_atomic(Path(path), write)


def _rows_xml(chunk: pd.DataFrame, first_row: int, letters: list[str], numeric: list[bool]) -> pa.Buffer:
    rows = pc.cast(pa.array(np.arange(first_row, first_row + len(chunk))), _LS)
    pieces: list[str | pa.Array] = ['<row r="', rows, '">']
    gap = False
    for position, is_numeric in enumerate(numeric):
        values = chunk.iloc[:, position]
        # Readers place ref-less cells positionally, so once a cell may be missing every later cell needs an
        # r ref; the cells before that go without, which saves bytes and deflate time.
        cell: list[str | pa.Array] = [f'<c r="{letters[position]}', rows, '"'] if gap else ["<c"]
        if is_numeric:
            value = _number_text(values)
            cell += ["><v>", value, "</v></c>"]
        else:
            value = pa.array(values.astype(_STR), type=_LS)
            value = pc.if_else(pc.equal(value, ""), pa.scalar(None, _LS), value)
            cell.append(' t="inlineStr"><is><t')
            if pc.any(pc.match_substring_regex(value, _MAYBE_SPECIAL)).as_py():
                # xml:space only where needed: it is ~20 bytes a cell and most values have no edge whitespace.
                edged = pc.not_equal(pc.binary_length(pc.ascii_trim_whitespace(value)), pc.binary_length(value))
                cell.append(pc.if_else(edged, _s(' xml:space="preserve"'), _s("")))
                value = _escape(value)
            cell += [">", value, "</t></is></c>"]
        if value.null_count:  # joined on its own so that a missing value drops the whole <c> element
            cell = [pc.binary_join_element_wise(*_merged(cell), _s(""))]
            gap = True
        pieces += cell
    xml = pc.binary_join_element_wise(*_merged([*pieces, "</row>"]), _s(""), null_handling="skip")
    # The rows sit back to back in the Arrow data buffer: hand that slice to zlib instead of making a str.
    offsets = np.frombuffer(xml.buffers()[1], dtype=np.int64)[xml.offset : xml.offset + len(xml) + 1]
    return xml.buffers()[2][offsets[0] : offsets[-1]]


def _merged(pieces: list[str | pa.Array]) -> list[pa.Scalar | pa.Array]:
    # The join kernel's cost grows with its argument count, so adjacent literals go in as one scalar.
    out: list[pa.Scalar | pa.Array] = []
    text = ""
    for piece in pieces:
        if isinstance(piece, str):
            text += piece
            continue
        if text:
            out.append(_s(text))
            text = ""
        out.append(piece)
    return [*out, _s(text)] if text else out


def _number_text(values: pd.Series) -> pa.Array:
    numbers = pd.to_numeric(values.replace("", np.nan))
    if pd.api.types.is_integer_dtype(numbers.dtype):
        return pc.cast(pa.array(numbers), _LS)
    floats = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    if np.isinf(floats).any():
        raise ValueError(f"column {values.name!r} holds an infinite value, which Excel cannot store")
    # numpy's float->str is Python's shortest round-trip repr; Excel wants integers without the ".0".
    text = pa.array(floats.astype("S32"), mask=np.isnan(floats)).cast(_LS)
    return pc.replace_substring_regex(text, r"\.0$", "")


def _escape(text: pa.Array) -> pa.Array:
    special = pc.fill_null(pc.match_substring_regex(text, _NEEDS_ENCODING), False)
    if pc.any(special).as_py():
        # Excel decodes _xHHHH_ inside any string, so a literal one needs its "_" spelt _x005F_; done before
        # the control characters are themselves encoded as _xHHHH_.
        fixed = pc.replace_substring(pc.filter(text, special), "_x", "_x005F_x")
        for char in _UNSAFE:
            fixed = pc.replace_substring(fixed, char, f"_x{ord(char):04X}_")
        text = pc.replace_with_mask(text, special, fixed)
    for raw, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        text = pc.replace_substring(text, raw, entity)
    return text


def _s(value: str) -> pa.Scalar:
    return pa.scalar(value, _LS)


def _attr(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _zip_info(name: str, timestamp: tuple[int, int, int, int, int, int]) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=timestamp)
    info.compress_type = zipfile.ZIP_DEFLATED
    # Python < 3.13 has no public per-entry level and ZipFile.open(ZipInfo) ignores the archive's level.
    info._compresslevel = COMPRESS_LEVEL  # type: ignore[attr-defined]
    info.create_system = 3  # otherwise it varies with the OS, breaking byte-identical output
    info.external_attr = 0o644 << 16
    return info


def _write_atomic(path: Path, write: Callable[[IO[bytes]], object]) -> str:
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w+b") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        digest = sha256_file(tmp)
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would make the delivered batch unreadable to other users
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if os.name == "posix":  # persist the rename itself, not just the file contents
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return digest
