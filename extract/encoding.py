"""Which text encoding a delimited export is in, found without holding the file in memory.

Exports come from Windows offices as often as from web portals. The file is checked in streamed
chunks, so a multi-GB export costs one chunk of memory; the verdict is the one a whole-file
`bytes.decode` would give: the first of `CSV_ENCODINGS` that decodes every byte.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa

CSV_ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")
CHUNK_BYTES = 1 << 24
# The five bytes Python's cp1252 codec leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D): a file
# holding none of them decodes as cp1252, one holding any falls back to latin-1.
_CP1252_UNDEFINED = tuple(bytes([b]) for b in range(256) if bytes([b]).decode("cp1252", "replace") == "\ufffd")


def detect_encoding(path: Path) -> str:
    """The first encoding that decodes the whole file (`utf-8-sig` for any UTF-8); latin-1 always does."""
    if _is_utf8_file(path):
        return "utf-8-sig"
    if not _holds_any(path, _CP1252_UNDEFINED):
        return "cp1252"
    return "latin-1"


def _chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK_BYTES):
            yield chunk


def _is_utf8_file(path: Path) -> bool:
    carry = b""
    for chunk in _chunks(path):
        data = carry + chunk
        complete = _complete_utf8_length(data)
        if not _is_utf8(data[:complete]):
            return False
        carry = data[complete:]
    return not carry  # a character cut off by the end of the file is not UTF-8


def _holds_any(path: Path, needles: tuple[bytes, ...]) -> bool:
    return any(needle in chunk for chunk in _chunks(path) for needle in needles)


def _complete_utf8_length(data: bytes) -> int:
    """`len(data)` without a multi-byte character that the chunk boundary cut in two."""
    end = len(data)
    for back in range(1, min(4, end) + 1):
        byte = data[end - back]
        if byte < 0x80:
            return end
        if byte >= 0xC0:  # the lead byte says how long its character is
            needed = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return end if back >= needed else end - back
    return end  # no lead byte near the end: validation judges the bytes as they are


def _is_utf8(data: bytes) -> bool:
    # Arrow's validator is as strict as Python's decoder (overlongs, surrogates, > U+10FFFF) and
    # needs no decoded copy.
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64).tobytes())
    as_bytes = pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(data)])
    try:
        as_bytes.cast(pa.large_string())
    except pa.ArrowInvalid:
        return False
    return True
