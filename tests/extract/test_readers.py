"""Reading exports as they come: encodings, XLSX with titles above the header, formula cells,
numbers stored as text or as numbers, stray spaces; and whole-file failures that name the columns."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from extract import MissingColumnsError, UnreadableFileError, read_activity_map, read_portal_export
from tests.factories import VALID_NPI, claim, write_export

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"
ACCENTED = ["Renée", "Begoña", "Jürgen"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_encodings_keep_names_and_the_trademark_sign(tmp_path, encoding):
    rows = [claim(**{"First Name": name, "Credit Type": "AMA PRA Category 1 Credit™"}) for name in ACCENTED]
    raw = read_portal_export(write_export(tmp_path / "export.csv", rows, encoding=encoding))
    assert raw["first_name"].tolist() == ACCENTED
    assert set(raw["credit_type"]) == {"AMA PRA Category 1 Credit™"}
    assert raw["claim_id"].notna().all()  # the BOM is not part of the first header
    assert raw["source_line"].tolist() == [2, 3, 4]


def test_cp1252_sample_reads_the_names_intact():
    raw = read_portal_export(SAMPLES / "portal_export_cp1252.csv")
    assert raw["first_name"].tolist() == ["Renée", "Begoña", "Jürgen", "Zoë", "Noël", "Chloé"]
    assert set(raw["credit_type"]) == {"AMA PRA Category 1 Credit™"}


def test_utf8_bom_sample_reads_claim_id_as_a_header():
    raw = read_portal_export(SAMPLES / "portal_export_utf8_bom.csv")
    assert len(raw) == 5 and raw["claim_id"].notna().all()


def test_messy_headers_and_stray_spaces(tmp_path):
    path = tmp_path / "messy.csv"
    path.write_text(
        "  claim id ,COURSE ID, user id ,Given  Name,SURNAME,credit type,hours,date earned,claimed on,Internal Notes\n"
        " C1 , ACT-1 ,L1, Avery , Testwell ,AMA PRA Category 1 Credit,  1.5 , 2026-10-01 ,2026-10-02, x \n",
        encoding="utf-8",
    )
    raw = read_portal_export(path)
    assert raw.loc[0, ["claim_id", "portal_activity_id", "first_name", "credits"]].tolist() == [
        "C1",
        "ACT-1",
        "Avery",
        "1.5",
    ]
    assert "Internal Notes" not in raw.columns


def test_blank_lines_are_dropped_and_line_numbers_kept(tmp_path):
    path = tmp_path / "gaps.csv"
    frame = pd.DataFrame([claim(**{"Claim ID": "A"}), claim(**{"Claim ID": "B"})])
    text = frame.to_csv(index=False).splitlines()
    path.write_text("\n".join([text[0], text[1], ",,,,,,,,,,,,,,,,", text[2]]) + "\n", encoding="utf-8")
    raw = read_portal_export(path)
    assert raw["claim_id"].tolist() == ["A", "B"]
    assert raw["source_line"].tolist() == [2, 4]


def test_ids_keep_leading_zeros(tmp_path):
    raw = read_portal_export(
        write_export(tmp_path / "z.csv", [claim(**{"Claim ID": "000123", "License Number": "0012345"})])
    )
    assert raw.loc[0, ["claim_id", "license_number"]].tolist() == ["000123", "0012345"]


def test_missing_required_column_names_file_and_column_never_a_value(tmp_path):
    rows = [{k: v for k, v in claim(**{"First Name": "Zebulon"}).items() if k != "Credits"}]
    with pytest.raises(MissingColumnsError) as info:
        read_portal_export(write_export(tmp_path / "no_credits.csv", rows))
    message = str(info.value)
    assert "no_credits.csv" in message and "credits" in message and "Credit Amount" in message
    assert info.value.missing == ["credits"]
    assert "Zebulon" not in message


def test_missing_column_sample_fails():
    with pytest.raises(MissingColumnsError, match="credits"):
        read_portal_export(SAMPLES / "portal_export_missing_required_column.csv")


def test_an_empty_or_absent_file_is_unreadable(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(UnreadableFileError, match="empty.csv"):
        read_portal_export(tmp_path / "empty.csv")
    with pytest.raises(UnreadableFileError, match="absent.csv"):
        read_portal_export(tmp_path / "absent.csv")


# --- XLSX --------------------------------------------------------------------------------------


def _workbook(path: Path, header_row: int, rows: list[list[object]], header: list[str]) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"] = "Credit claims export"
    ws["A2"] = "Generated for testing"
    for col, name in enumerate(header, start=1):
        ws.cell(header_row, col, name)
    for r, values in enumerate(rows, start=header_row + 1):
        for col, value in enumerate(values, start=1):
            ws.cell(r, col, value)
    wb.save(path)
    return path


XLSX_HEADER = [
    "Claim ID",
    "Activity ID",
    "Learner ID",
    "First Name",
    "Last Name",
    "Credit Type",
    "Credits",
    "Completion Date",
    "Claim Date",
    "NPI",
    "License Number",
    "Date of Birth",
    "License State",
]


def test_xlsx_with_titles_above_the_header_cells_of_every_kind(tmp_path):
    cat1 = "AMA PRA Category 1 Credit™"
    rows = [
        [
            "C1",
            "ACT-1",
            "L1",
            "Ann",
            "Testwell",
            cat1,
            1.5,
            dt.datetime(2026, 10, 1, 14, 30),
            dt.date(2026, 10, 2),
            int(VALID_NPI),
            12345,
            dt.datetime(1980, 2, 29),
            "CA",
        ],
        [
            "C2",
            "ACT-1",
            "L2",
            "Bo",
            "Testwell",
            cat1,
            "1.25",
            "2026-10-01",
            46297,
            VALID_NPI,
            "0012345",
            "02/29",
            "New York",
        ],
        ["C3", "ACT-1", "L3", "Cy", "Testwell", cat1, "=1+1", 46296, "2026-10-02", None, None, None, None],
    ]
    path = _workbook(tmp_path / "claims.xlsx", 4, rows, XLSX_HEADER)
    raw = read_portal_export(path)
    assert raw["source_line"].tolist() == [5, 6, 7]
    assert raw["claim_id"].tolist() == ["C1", "C2", "C3"]
    assert raw["credits"].tolist()[:2] == ["1.5", "1.25"]
    assert pd.isna(raw.loc[2, "credits"])  # a formula with no cached value is missing, never 0 or 2
    assert raw["npi"].tolist()[:2] == [VALID_NPI, VALID_NPI]
    assert raw.loc[0, "license_number"] == "12345" and raw.loc[1, "license_number"] == "0012345"
    assert raw.loc[0, "completion_date"].startswith("2026-10-01")


def test_xlsx_cells_judge_like_csv_text(tmp_path):
    from schemas.portal_claim import CLAIM_FIELDS, SOURCE_COLUMNS
    from tests.factories import write_map
    from tests.transform.helpers import AS_OF, CUTOFF
    from transform.judge import LedgerView, judge_run
    from transform.mapping import usable_activity_map

    cat1 = "AMA PRA Category 1 Credit™"
    rows = [
        [
            "C1",
            "ACT-1",
            "L1",
            "Ann",
            "Testwell",
            cat1,
            1.5,
            dt.datetime(2026, 10, 1, 14, 30),
            dt.date(2026, 10, 2),
            int(VALID_NPI),
            12345,
            dt.datetime(1980, 2, 29),
            "CA",
        ],
        ["C2", "ACT-1", "L2", "Bo", "Testwell", cat1, "1.25", 46296, 46297, VALID_NPI, "0012345", "02/29", "New York"],
        ["C3", "ACT-1", "L3", "Cy", "Testwell", cat1, "=1+1", 46296, "2026-10-02", None, "A1", "01/01", "CA"],
    ]
    raw = read_portal_export(_workbook(tmp_path / "claims.xlsx", 3, rows, XLSX_HEADER)).assign(file_order=0)
    amap = usable_activity_map(read_activity_map(write_map(tmp_path / "map.csv")))
    judged = judge_run(raw, amap, LedgerView.empty([*CLAIM_FIELDS, *SOURCE_COLUMNS]), cutoff=CUTOFF, as_of=AS_OF)
    assert judged.claims["outcome"].tolist() == ["submitted", "submitted", "rejected"]
    assert judged.claims["reason"].tolist()[2] == "MISSING_REQUIRED_FIELD"
    sent = judged.registry_rows.set_index("claim_id")
    assert sent.loc["C1", ["completion_date", "birth_mmdd", "license_or_npi", "credits"]].tolist() == [
        "10/01/2026",
        "02/29",
        VALID_NPI,
        "1.5",
    ]
    assert sent.loc["C2", ["completion_date", "license_state"]].tolist() == ["10/01/2026", "New York"]


def test_title_rows_sample(tmp_path):
    raw = read_portal_export(SAMPLES / "portal_export_title_rows.xlsx")
    assert raw["source_line"].tolist() == list(range(5, 13))
    by_id = raw.set_index("claim_id")
    assert pd.isna(by_id.loc["CLM-0800005", "credits"])
    assert by_id.loc["CLM-0800004", "npi"].isdigit() and len(by_id.loc["CLM-0800004", "npi"]) == 10
    assert by_id.loc["CLM-0800007", "license_number"] == "0012345"


def test_activity_map_xlsx_reads_as_the_csv():
    from transform.mapping import usable_activity_map

    csv_map = usable_activity_map(read_activity_map(SAMPLES / "activity_map.csv"))
    xlsx_map = usable_activity_map(read_activity_map(SAMPLES / "activity_map.xlsx"))
    pd.testing.assert_frame_equal(csv_map, xlsx_map)
