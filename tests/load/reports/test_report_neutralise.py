"""Issue 6: text that a spreadsheet would run is kept inert, and what reached the registry is said plainly."""

from __future__ import annotations

import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook

from load.reports.data import _sent_note
from load.reports.neutralise import FORMULA_START, csv_safe, text_cell

RISKY = ["=1+1", "+1", "-2+3", "@SUM(A1)", "\t=cmd", "\r=1", "\n=1", '=HYPERLINK("http://x","x")']
HARMLESS = ["O'Testwell", "Test=well", "Mockridge-Sampleton", "", "12.5"]


def test_every_risky_start_reads_back_as_the_same_text(tmp_path):
    assert {v[0] for v in RISKY} == set(FORMULA_START)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("t")
    for value in [*RISKY, *HARMLESS, 3, 1.5]:
        sheet.append([text_cell(sheet, value)])
    workbook.save(tmp_path / "t.xlsx")
    cells = [row[0] for row in load_workbook(tmp_path / "t.xlsx")["t"].iter_rows()]
    for cell, original in zip(cells, RISKY, strict=False):
        shown = original.replace("\r", "\n")  # XML text has no bare CR: every reader sees a line feed
        assert (cell.value, cell.data_type, cell.quotePrefix) == (shown, "s", True), repr(original)
    assert [c.value for c in cells[len(RISKY) :]] == [*[h or None for h in HARMLESS], 3, 1.5]
    assert not any(c.quotePrefix for c in cells[len(RISKY) :])


def test_control_characters_openpyxl_refuses_are_replaced():
    sheet = Workbook(write_only=True).create_sheet("t")
    assert text_cell(sheet, "Avery\x00\x07Testwell") == "Avery\ufffd\ufffdTestwell"


def test_csv_values_get_an_apostrophe_and_numbers_stay_numbers():
    frame = pd.DataFrame({"name": RISKY + HARMLESS[:2], "credits": [-1.5] * (len(RISKY) + 2)})
    safe = csv_safe(frame)
    assert safe["name"].tolist() == ["'" + v for v in RISKY] + HARMLESS[:2]
    assert safe["credits"].tolist() == frame["credits"].tolist() and frame["name"].iloc[0] == "=1+1"


def _batches(*statuses: str) -> pd.DataFrame:
    return pd.DataFrame({"file_name": [f"PARS-{i}.xlsx" for i in range(len(statuses))], "status": list(statuses)})


@pytest.mark.parametrize(
    ("status", "batches", "starts"),
    [
        ("failed", _batches(), "Nothing was sent"),
        ("running", _batches(), "Nothing was sent"),
        ("succeeded", _batches(), "Nothing to send"),
        ("succeeded", _batches("written"), "Registry file(s) to upload to PARS: PARS-0.xlsx"),
        (
            "failed",
            _batches("written", "committed"),
            "The ledger load of this run committed, but these registry files were not confirmed written: PARS-1.xlsx",
        ),
        ("failed", _batches("written"), "The run failed after its load committed"),
    ],
)
def test_what_was_sent(status, batches, starts):
    assert _sent_note(status, batches).startswith(starts)
