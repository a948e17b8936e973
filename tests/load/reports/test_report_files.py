"""Issue 6: the run report workbook and page, built from a ledger written row by row."""

from __future__ import annotations

import json
import stat
import zipfile
from pathlib import Path

import openpyxl
import pytest

from load.reports import RunEnding, report_summary, write_report_files, write_run_report
from load.reports.markdown import summary_markdown

from .conftest import check_golden
from .ledger_fixture import (
    FORMULA_FIRST_NAME,
    FORMULA_LAST_NAME,
    FROZEN_NOW,
    LEARNER_NAMES,
    MARKUP_LAST_NAME,
    PLUS_LEARNER,
    RUN_2,
    RUN_OPEN,
    failed_inputs,
)

SHEETS = ["Summary", "Submitted", "Corrections", "Delayed", "Rejected", "Reconciliation", "History"]
SETTINGS = {"rows per registry file": 10000, "office time zone": "America/Los_Angeles"}


def _write(engine, tmp_path: Path, run_id: str = RUN_2, **kwargs) -> dict[str, Path]:  # type: ignore[no-untyped-def]
    paths = write_run_report(engine, run_id, tmp_path / "reports", now=FROZEN_NOW, settings=SETTINGS, **kwargs)
    return {p.name: p for p in paths}


def _rows(sheet) -> list[list[object]]:  # type: ignore[no-untyped-def]
    rows = []
    for row in sheet.iter_rows(values_only=True):
        values = list(row)
        while values and values[-1] is None:
            values.pop()
        rows.append(values)
    return rows


def _table(sheet, header_row: int) -> list[dict]:  # type: ignore[no-untyped-def]
    rows = _rows(sheet)
    header = rows[header_row - 1]
    return [dict(zip(header, r, strict=False)) for r in rows[header_row:] if r]


def test_summary_sheet_matches_golden(ledger, tmp_path):
    files = _write(ledger, tmp_path)
    workbook = openpyxl.load_workbook(files["report.xlsx"])
    assert workbook.sheetnames == SHEETS
    check_golden("summary_sheet.json", json.dumps(_rows(workbook["Summary"]), indent=1, ensure_ascii=False) + "\n")


def test_html_matches_golden(ledger, tmp_path):
    files = _write(ledger, tmp_path)
    check_golden("report.html", files["report.html"].read_text(encoding="utf-8"))


def test_same_ledger_same_report(ledger, tmp_path):
    first = _write(ledger, tmp_path / "a")
    second = _write(ledger, tmp_path / "b")
    for name in ("report.html", "report.md"):
        assert first[name].read_bytes() == second[name].read_bytes(), name
    one, two = (openpyxl.load_workbook(f["report.xlsx"]) for f in (first, second))
    assert all(_rows(one[s]) == _rows(two[s]) for s in SHEETS)


def test_files_and_folders_are_owner_only(ledger, tmp_path):
    files = _write(ledger, tmp_path, sheet_rows=1)
    folder = tmp_path / "reports" / RUN_2
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(folder.parent.stat().st_mode) == 0o700
    assert {"report.xlsx", "report.html", "report.md", "submitted.csv", "corrections.csv", "rejected.csv"} == set(files)
    for path in files.values():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    assert sorted(p.name for p in folder.iterdir()) == sorted(files)  # no temporary file left behind


def test_formula_like_text_is_stored_as_inert_text(ledger, tmp_path):
    files = _write(ledger, tmp_path)
    sheet = openpyxl.load_workbook(files["report.xlsx"])["Rejected"]
    cells = {c.value: c for row in sheet.iter_rows() for c in row if isinstance(c.value, str)}
    for original in (FORMULA_LAST_NAME, FORMULA_FIRST_NAME, PLUS_LEARNER):
        cell = cells[original]  # the value reads back exactly as the original text
        assert cell.data_type == "s" and cell.quotePrefix, original
    assert not any(c.data_type == "f" for row in sheet.iter_rows() for c in row)
    with zipfile.ZipFile(files["report.xlsx"]) as archive:
        xml = "".join(archive.read(n).decode() for n in archive.namelist() if n.startswith("xl/worksheets/"))
    assert "<f>" not in xml


def test_listings_show_what_an_auditor_asks(ledger, tmp_path):
    workbook = openpyxl.load_workbook(_write(ledger, tmp_path)["report.xlsx"])
    [corrected, revoked] = _table(workbook["Corrections"], 4)
    assert (corrected["old completion date"], corrected["new completion date"]) == ("10/01/2026", "10/03/2026")
    assert (corrected["old credits"], corrected["new credits"]) == (1.5, 2)
    assert "Number of CME Credits: 1.5 → 2" in corrected["what changed"]
    assert revoked["outcome"] == "revoked" and revoked["new credits"] is None and revoked["old credits"] == 2
    [delayed] = _table(workbook["Delayed"], 4)
    assert (delayed["first delayed"], delayed["age in days"], delayed["reason"]) == (
        "2026-10-29",
        14,
        "LEARNER_IDENTITY_INCOMPLETE",
    )
    assert delayed["waiting since an earlier run"] == "yes"
    rejected = {r["claim id"] + r["outcome"]: r for r in _table(workbook["Rejected"], 4)}
    formula = rejected["C000007rejected"]
    assert (formula["source file"], formula["line"]) == ("portal_export_2026-11-12.csv", 6)
    assert formula["what to do"].startswith("A text field starts with =")
    assert rejected["C000006duplicate"]["reason"] == "REPEATED_IN_INPUT"
    submitted = _table(workbook["Submitted"], 4)
    assert [(r["claim id"], r["registry row"]) for r in submitted] == [("C000006", 5), ("C000003", 4)]


def test_reconciliation_and_history(ledger, tmp_path):
    files = _write(ledger, tmp_path)
    workbook = openpyxl.load_workbook(files["report.xlsx"])
    checks = _table(workbook["Reconciliation"], 2)[:5]
    assert [c["holds"] for c in checks] == ["yes"] * 5
    assert checks[0]["expected"] == checks[0]["found"] == 6  # input rows = sum of outcomes
    rows = _rows(workbook["Reconciliation"])
    header = rows.index(next(r for r in rows if r and r[0] == "ACCME activity id"))
    per_activity = {r[0]: dict(zip(rows[header], r, strict=True)) for r in rows[header + 1 :] if r}
    total = per_activity["all activities"]
    assert (total["claims in"], total["waiting from earlier runs"], total["rows added"]) == (6, 2, 3)
    assert per_activity["202312345"]["credits sent"] == 3 and total["balances"] == "yes"
    history = _table(workbook["History"], 2)
    assert [h["status"] for h in history] == ["succeeded", "failed", "succeeded"]
    assert history[-1]["input rows"] == 6 and history[0]["submitted"] == 2
    with zipfile.ZipFile(files["report.xlsx"]) as archive:
        chart = next(n for n in archive.namelist() if n.startswith("xl/charts/chart"))
        assert "barChart" in archive.read(chart).decode()
    page = files["report.html"].read_text(encoding="utf-8")
    assert page.count("<svg") == 1 and "<script" not in page and "http-equiv" not in page
    assert "src=" not in page and "href=" not in page  # nothing outside the file


def test_values_are_escaped_in_the_page(ledger, tmp_path):
    page = _write(ledger, tmp_path)["report.html"].read_text(encoding="utf-8")
    assert "O&#x27;Demo &lt;b&gt;&amp;amp" in page
    assert MARKUP_LAST_NAME not in page
    assert "=HYPERLINK(&quot;http://example.invalid&quot;,&quot;click&quot;)" in page


def test_long_listings_are_capped_with_the_complete_list_beside(ledger, tmp_path):
    files = _write(ledger, tmp_path, sheet_rows=1)
    workbook = openpyxl.load_workbook(files["report.xlsx"])
    note = workbook["Rejected"]["A2"].value
    assert note.startswith("The first 1 of 3 rows are listed; all 3 are in rejected.csv")
    assert len(_table(workbook["Rejected"], 4)) == 1
    csv = files["rejected.csv"].read_text(encoding="utf-8-sig")
    assert len(csv.splitlines()) == 4 and "'=HYPERLINK" in csv and "'+15550100" in csv
    again = _write(ledger, tmp_path)  # the same run again with room for everything: no stale CSV
    assert not (tmp_path / "reports" / RUN_2 / "rejected.csv").exists() and "rejected.csv" not in again


def test_failed_run_says_what_failed_and_that_nothing_was_sent(ledger_with_open_run, tmp_path):
    error = "portal_export_2026-11-19.csv: required columns missing: credits"
    ending = RunEnding(status="failed", error=error, input_files=failed_inputs())
    files = _write(ledger_with_open_run, tmp_path, run_id=RUN_OPEN, ending=ending)
    summary = _rows(openpyxl.load_workbook(files["report.xlsx"])["Summary"])
    assert ["what failed", error] in summary
    assert any(r and r[0] == "what was sent" and r[1].startswith("Nothing was sent") for r in summary)
    assert ["portal_export_2026-11-19.csv", "export", None, "9" * 64] in summary
    page = files["report.html"].read_text(encoding="utf-8")
    assert 'class="alarm"' in page and "Nothing was sent" in page and "required columns missing: credits" in page
    assert "not applicable: the run failed before its load committed" in page
    assert "**Run failed.**" in files["report.md"].read_text(encoding="utf-8")


def test_summary_and_markdown_carry_no_learner_identity(ledger):
    summary = report_summary(ledger, RUN_2)
    assert summary["counts"]["input_rows"] == 6 and summary["carried_over"]["submitted"] == 1
    assert summary["reasons"]["rejected"] == {"FORMULA_LIKE_TEXT": 1, "NOT_PHYSICIAN": 1}
    text = json.dumps(summary) + summary_markdown(summary)
    for name in LEARNER_NAMES:
        assert name not in text, name
    assert "L00001" not in text and PLUS_LEARNER not in text


def test_the_summary_written_with_the_files_is_the_run_summary(ledger, tmp_path):
    """The flow publishes its artifacts from the summary built with the report, not a second build."""
    written = write_report_files(ledger, RUN_2, tmp_path / "reports", now=FROZEN_NOW, settings=SETTINGS)
    assert written.summary == report_summary(ledger, RUN_2)
    assert {p.name for p in written.paths} >= {"report.xlsx", "report.html", "report.md"}
    json.dumps(written.summary)  # JSON-ready, as the artifacts need


def test_unknown_run_is_refused(ledger, tmp_path):
    with pytest.raises(LookupError, match="no run nope"):
        write_run_report(ledger, "nope", tmp_path / "reports")
    assert not (tmp_path / "reports").exists()
