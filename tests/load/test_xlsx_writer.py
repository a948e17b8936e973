"""load.xlsx_writer: what openpyxl and calamine read back, determinism, atomicity."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from load import xlsx_writer
from load.xlsx_writer import sha256_file, write_text_atomic, write_xlsx_sheet

HEADER = ["ID", "Name", "Note", "Credits", "Board ID"]
TITLE = "PARS batch & guidance <2024>"
NUMERIC = {"credits"}


def sample_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ["00123", "00456", "7", "=1+1", '=HYPERLINK("http://x.test","click")', "0042"],
            "name": ["José Ñúñez", "Müller 陈", "  padded  ", "A&B <C> D>E", "tab\there", "last"],
            # Missing in the middle of a row: None, NaN, pd.NA and "" all leave the cell out.
            "note": ["n1", None, np.nan, pd.NA, "", "n6"],
            "credits": [1, 0.25, 1.5, None, 10.0, 2.75],
            "board_id": ["B1", "B2", "B3", "B4", "B5", "B6"],
        }
    )


def expected_grid() -> list[list[object]]:
    frame = sample_frame()
    rows: list[list[object]] = [[TITLE, None, None, None, None], list(HEADER)]
    for record in frame.itertuples(index=False):
        row = [None if pd.isna(v) or v == "" else v for v in record]
        rows.append(row)
    return rows


def write_sample(path: Path, **kwargs: object) -> str:
    options: dict[str, object] = {"header": HEADER, "title_row": TITLE, "numeric_columns": NUMERIC}
    options.update(kwargs)
    return write_xlsx_sheet(path, sample_frame(), **options)  # type: ignore[arg-type]


def sheet_xml(path: Path) -> str:
    with zipfile.ZipFile(path) as zf:
        return zf.read("xl/worksheets/sheet1.xml").decode("utf-8")


def test_openpyxl_reads_back_every_value_in_its_column(tmp_path: Path) -> None:
    path = tmp_path / "batch.xlsx"
    write_sample(path, sheet_name="PARS & Co")
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == ["PARS & Co"]
    sheet = workbook.active
    assert sheet is not None
    assert [[cell.value for cell in row] for row in sheet.iter_rows()] == expected_grid()
    # Numbers are numbers, ids stay text with their leading zeros.
    assert sheet["D3"].value == 1 and isinstance(sheet["D3"].value, int)
    assert sheet["D4"].value == 0.25 and sheet["D5"].value == 1.5
    assert sheet["A3"].value == "00123" and sheet["A3"].data_type == "s"
    # A value that looks like a formula is stored as text, never as a formula.
    assert sheet["A6"].value == "=1+1" and sheet["A6"].data_type == "s"
    assert sheet["A7"].value == '=HYPERLINK("http://x.test","click")' and sheet["A7"].data_type == "s"
    # The missing note leaves E (Board ID) in E, not shifted into C.
    assert sheet["C4"].value is None and sheet["E4"].value == "B2"


def test_calamine_reads_back_every_value_in_its_column(tmp_path: Path) -> None:
    path = tmp_path / "batch.xlsx"
    write_sample(path)
    read = pd.read_excel(path, engine="calamine", dtype=str, header=None)
    grid = [[None if pd.isna(v) else v for v in row] for row in read.itertuples(index=False)]
    expected = [[None if v is None else str(v) for v in row] for row in expected_grid()]
    # calamine's dtype=str renders the number 1 as "1" and 10.0 as "10".
    expected[2][3], expected[6][3] = "1", "10"
    assert grid == expected
    data = pd.read_excel(path, engine="calamine", dtype=str, skiprows=1)
    assert list(data.columns) == HEADER
    assert data["ID"].tolist()[:2] == ["00123", "00456"]


def test_missing_cells_are_absent_not_empty(tmp_path: Path) -> None:
    path = tmp_path / "batch.xlsx"
    write_sample(path)
    xml = sheet_xml(path)
    for ref in ("C4", "C5", "C6", "C7", "D6"):
        assert f'r="{ref}"' not in xml
    assert "<c/>" not in xml and "<t></t>" not in xml
    # Every cell says where it is: some readers reject ref-less cells, and others would shift them left.
    assert xml.count("<c ") == xml.count('<c r="') == len(re.findall(r'<c r="[A-Z]+\d+"', xml))
    row4 = re.search(r'<row r="4">(.*?)</row>', xml)
    assert row4 is not None and row4.group(1).count("<c") == 4
    # Numbers: no ".0" on integral values, inline strings for text.
    assert "<v>1</v>" in xml and "<v>0.25</v>" in xml and "<v>10</v>" in xml and ".0<" not in xml
    assert 't="inlineStr"' in xml and "<f>" not in xml
    assert '<t xml:space="preserve">  padded  </t>' in xml
    assert "A&amp;B &lt;C&gt; D&gt;E" in xml


def test_missing_first_column_and_wide_sheet_keep_columns(tmp_path: Path) -> None:
    columns = {f"c{i}": [f"v{i}_{r}" for r in range(3)] for i in range(30)}
    frame = pd.DataFrame(columns)
    frame.loc[1, "c0"] = None
    frame.loc[2, "c27"] = ""
    path = tmp_path / "wide.xlsx"
    write_xlsx_sheet(path, frame, header=list(frame.columns))
    sheet = openpyxl.load_workbook(path).active
    assert sheet is not None
    assert sheet["A3"].value is None and sheet["B3"].value == "v1_1" and sheet["AD3"].value == "v29_1"
    assert sheet["AB4"].value is None and sheet["AC4"].value == "v28_2"
    read = pd.read_excel(path, engine="calamine", dtype=str)
    assert read.iloc[1, 1] == "v1_1" and read.iloc[2, 28] == "v28_2" and read.isna().iloc[2, 27]


def test_numbers_use_the_shortest_repr_without_a_trailing_zero(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "float": [1.0, 0.25, 1.5, -0.0, 1e20, 0.1 + 0.2, 123456789012.0, None],
            "int": pd.array([1, None, -3, 40, 5, 6, 7, 8], dtype="Int64"),
            "text": ["1.50", "", None, "2", "0.25", "7", "8", "9"],
        }
    )
    path = tmp_path / "numbers.xlsx"
    write_xlsx_sheet(path, frame, header=["F", "I", "T"], numeric_columns={"float", "int", "text"})
    values = re.findall(r'<c r="([A-Z]+\d+)"><v>([^<]*)</v></c>', sheet_xml(path))
    assert [v for ref, v in values if ref.startswith("A")] == [
        "1", "0.25", "1.5", "0", "1e+20", "0.30000000000000004", "123456789012"
    ]  # fmt: skip
    assert [v for ref, v in values if ref.startswith("B")] == ["1", "-3", "40", "5", "6", "7", "8"]
    assert [v for ref, v in values if ref.startswith("C")] == ["1.5", "2", "0.25", "7", "8", "9"]
    sheet = openpyxl.load_workbook(path).active
    assert sheet is not None
    assert sheet["A7"].value == 0.30000000000000004
    assert sheet["B3"].value is None and sheet["C4"].value is None


def test_arrow_backed_columns_split_in_chunks_are_written(tmp_path: Path) -> None:
    # pd.concat leaves Arrow-backed columns as several Arrow chunks.
    frame = pd.concat([sample_frame().astype({"id": "string", "name": "str"})] * 2, ignore_index=True)
    frame["credits"] = frame["credits"].astype("Float64")
    path = tmp_path / "concat.xlsx"
    write_xlsx_sheet(path, frame, header=HEADER, title_row=TITLE, numeric_columns=NUMERIC)
    read = pd.read_excel(path, engine="calamine", dtype=str, skiprows=1)
    assert len(read) == 12 and read["ID"].tolist()[6:8] == ["00123", "00456"]
    assert read["Board ID"].tolist()[6:] == ["B1", "B2", "B3", "B4", "B5", "B6"]


def test_xml_forbidden_characters_and_literal_escapes_round_trip(tmp_path: Path) -> None:
    values = ["bell\x07here", "crlf\r\nline", "literal _x0041_ stays", "_x0041_x0042_", "uni\ufffe", "ok"]
    path = tmp_path / "odd.xlsx"
    write_xlsx_sheet(path, pd.DataFrame({"v": values}), header=["V"])
    # Excel and calamine decode _xHHHH_, so the text comes back exactly, less the noncharacter U+FFFE.
    expected = [v.replace("\ufffe", "") for v in values]
    assert pd.read_excel(path, engine="calamine", dtype=str)["V"].tolist() == expected
    # openpyxl does not decode _xHHHH_ but must still parse the file: only XML-legal characters went in.
    sheet = openpyxl.load_workbook(path).active
    assert sheet is not None and sheet["A7"].value == "ok" and sheet["A2"].value == "bell_x0007_here"


def test_same_input_gives_byte_identical_files(tmp_path: Path) -> None:
    first, second = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    digest = write_sample(first, timestamp=(2025, 3, 4, 5, 6, 7))
    assert write_sample(second, timestamp=(2025, 3, 4, 5, 6, 7)) == digest
    assert first.read_bytes() == second.read_bytes()
    assert digest == hashlib.sha256(first.read_bytes()).hexdigest() == sha256_file(first)
    with zipfile.ZipFile(first) as zf:
        assert zf.namelist() == [
            "[Content_Types].xml",
            "_rels/.rels",
            "docProps/app.xml",
            "docProps/core.xml",
            "xl/workbook.xml",
            "xl/_rels/workbook.xml.rels",
            "xl/styles.xml",
            "xl/worksheets/sheet1.xml",
        ]
        assert {info.date_time for info in zf.infolist()} == {(2025, 3, 4, 5, 6, 6)}  # DOS time: 2 s steps
        assert {info.compress_type for info in zf.infolist()} == {zipfile.ZIP_DEFLATED}
        core = zf.read("docProps/core.xml").decode()
    assert core.count("2025-03-04T05:06:07Z") == 2
    assert write_sample(second, timestamp=(2025, 3, 4, 5, 6, 9)) != digest


def test_chunked_writing_gives_the_same_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    whole = tmp_path / "whole.xlsx"
    write_sample(whole)
    monkeypatch.setattr(xlsx_writer, "CHUNK_ROWS", 4)
    chunked = tmp_path / "chunked.xlsx"
    write_sample(chunked)
    assert chunked.read_bytes() == whole.read_bytes()
    assert sheet_xml(chunked).count("<row ") == 8


def test_empty_frame_writes_title_and_header_only(tmp_path: Path) -> None:
    path = tmp_path / "empty.xlsx"
    write_xlsx_sheet(path, sample_frame().iloc[0:0], header=HEADER, title_row=TITLE, numeric_columns=NUMERIC)
    sheet = openpyxl.load_workbook(path).active
    assert sheet is not None
    assert [[c.value for c in row] for row in sheet.iter_rows()] == expected_grid()[:2]


def test_failed_write_keeps_old_file_and_no_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "batch.xlsx"
    path.write_bytes(b"previous batch")
    real_rows_xml = xlsx_writer._rows_xml
    calls = {"n": 0}

    def failing_rows_xml(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 4:  # title and header rows, one data chunk, then fail on the next chunk
            raise OSError("disk went away")
        return real_rows_xml(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(xlsx_writer, "CHUNK_ROWS", 2)
    monkeypatch.setattr(xlsx_writer, "_rows_xml", failing_rows_xml)
    with pytest.raises(OSError, match="disk went away"):
        write_sample(path)
    assert calls["n"] == 4
    assert path.read_bytes() == b"previous batch"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["batch.xlsx"]


def test_successful_write_leaves_no_temp_and_replaces_old_file(tmp_path: Path) -> None:
    path = tmp_path / "batch.xlsx"
    path.write_bytes(b"previous batch")
    write_sample(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["batch.xlsx"]
    assert zipfile.is_zipfile(path)


def test_write_text_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "batch.txt"
    data = "Add\t00123\tJosé\r\n".encode()
    assert write_text_atomic(path, data) == hashlib.sha256(data).hexdigest() == sha256_file(path)
    assert path.read_bytes() == data

    def broken_replace(src: object, dst: object) -> None:
        raise OSError("rename failed")

    monkeypatch.setattr(xlsx_writer.os, "replace", broken_replace)
    with pytest.raises(OSError, match="rename failed"):
        write_text_atomic(path, b"new")
    assert path.read_bytes() == data
    assert [p.name for p in tmp_path.iterdir()] == ["batch.txt"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"header": ["only one"]}, "header names"),
        ({"numeric_columns": {"credit"}}, "numeric_columns"),
        ({"sheet_name": "a/b"}, "sheet name"),
        ({"sheet_name": "x" * 32}, "sheet name"),
        ({"sheet_name": "trailing'"}, "sheet name"),
        ({"sheet_name": ""}, "sheet name"),
    ],
)
def test_rejects_bad_arguments(tmp_path: Path, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        write_sample(tmp_path / "bad.xlsx", **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_rejects_more_rows_than_excel_holds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xlsx_writer, "MAX_ROWS", 7)
    with pytest.raises(ValueError, match="limit"):
        write_sample(tmp_path / "big.xlsx")


def test_rejects_infinite_numbers(tmp_path: Path) -> None:
    frame = sample_frame().assign(credits=[1.0, np.inf, 2.0, 3.0, 4.0, 5.0])
    with pytest.raises(ValueError, match="infinite"):
        write_xlsx_sheet(tmp_path / "inf.xlsx", frame, header=HEADER, numeric_columns=NUMERIC)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not (shutil.which("libreoffice") or shutil.which("soffice")), reason="LibreOffice absent")
def test_libreoffice_opens_it(tmp_path: Path) -> None:
    path = tmp_path / "batch.xlsx"
    write_sample(path)
    office = shutil.which("libreoffice") or shutil.which("soffice")
    subprocess.run(
        [str(office), "--headless", "--convert-to", "csv", "--outdir", str(tmp_path), str(path)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    text = (tmp_path / "batch.csv").read_text(encoding="utf-8", errors="replace")
    assert "00123" in text and "José Ñúñez" in text
