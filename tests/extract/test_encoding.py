"""Encoding detection in streamed chunks: the verdict of a whole-file decode, in bounded memory."""

from __future__ import annotations

import builtins

import pytest

import extract.encoding as encoding
from extract import read_portal_export
from extract.encoding import CSV_ENCODINGS, detect_encoding
from tests.factories import claim, write_export


def whole_file_verdict(data: bytes) -> str:
    """What the detector promises: the first encoding that decodes all of the bytes."""
    for name in CSV_ENCODINGS:
        try:
            data.decode(name)
        except UnicodeDecodeError:
            continue
        return name
    return "latin-1"


CASES = {
    "ascii": b"Claim ID,First Name\nC1,Avery\n",
    "utf-8 two, three and four byte characters": "C1,Ren\u00e9e \u2122 \U0001d11e\n".encode(),
    "utf-8 with a BOM": "\ufeffClaim ID\nC1,Zo\u00eb\n".encode(),
    "cp1252 e-acute and trademark": "C1,Ren\u00e9e \u2122\n".encode("cp1252"),
    "a byte cp1252 leaves undefined": b"C1,Ren\xe9e \x81\n",
    "utf-8 cut off at the end": "C1,\u2122".encode()[:-1],
    "a lone continuation byte": b"C1,\x80abc\n",
    "an overlong utf-8 slash": b"C1,\xc0\xaf\n",
    "a utf-8 encoded surrogate": b"C1,\xed\xa0\x80\n",
    "empty": b"",
}


@pytest.mark.parametrize("chunk_bytes", [1, 2, 3, 5, 1 << 20])
@pytest.mark.parametrize("name", list(CASES))
def test_verdict_is_the_whole_file_decode_at_any_chunk_boundary(tmp_path, monkeypatch, name, chunk_bytes):
    monkeypatch.setattr(encoding, "CHUNK_BYTES", chunk_bytes)
    path = tmp_path / "export.csv"
    path.write_bytes(CASES[name])
    assert detect_encoding(path) == whole_file_verdict(CASES[name])


def test_a_cp1252_byte_far_past_the_first_chunk_still_decides(tmp_path, monkeypatch):
    monkeypatch.setattr(encoding, "CHUNK_BYTES", 64)
    rows = [claim(**{"Claim ID": f"C{i}"}) for i in range(40)] + [claim(**{"Claim ID": "C40", "First Name": "Begoña"})]
    raw = read_portal_export(write_export(tmp_path / "export.csv", rows, encoding="cp1252"))
    assert raw["first_name"].iloc[-1] == "Begoña"
    assert detect_encoding(tmp_path / "export.csv") == "cp1252"


def test_the_file_is_read_in_bounded_chunks_never_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(encoding, "CHUNK_BYTES", 1000)
    path = tmp_path / "export.csv"
    path.write_bytes(("C1,Renée ™\n" * 5000).encode("cp1252"))  # not UTF-8: both passes run
    reads: list[int] = []
    real_open = builtins.open

    def spying_open(*args, **kwargs):  # type: ignore[no-untyped-def]
        handle = real_open(*args, **kwargs)
        real_read = handle.read

        def read(size=-1):  # type: ignore[no-untyped-def]
            reads.append(size)
            return real_read(size)

        handle.read = read
        return handle

    monkeypatch.setattr(encoding, "open", spying_open, raising=False)
    assert detect_encoding(path) == "cp1252"
    assert reads and all(0 < size <= 1000 for size in reads)
