"""The run report workbook: Summary, the listings, Reconciliation, History with a chart.

Written in openpyxl's write-only mode (rows streamed, constant memory); every text cell goes
through `text_cell`, so nothing in the report can run as a formula.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from load.reports.data import RunReport
from load.reports.neutralise import text_cell
from load.reports.sections import REPORT_TITLE, Section, listing_note, summary_sections
from schemas.reasons import OUTCOMES

BOLD = Font(bold=True)
TITLE = Font(bold=True, size=14)
ALARM = Font(bold=True, color="9C0006")
HEADER_FILL = PatternFill("solid", fgColor="DDE4EE")
WRAP = Alignment(wrap_text=True, vertical="top")


def _styled(sheet: WriteOnlyWorksheet, value: object, font: Font | None = None, fill: PatternFill | None = None):  # type: ignore[no-untyped-def]
    cell = text_cell(sheet, value)
    if not isinstance(cell, Cell):
        cell = WriteOnlyCell(sheet, cell)
    if font:
        cell.font = font
    if fill:
        cell.fill = fill
    return cell


def _values(frame: pd.DataFrame) -> list[list[object]]:
    return frame.astype(object).where(frame.notna(), None).to_numpy().tolist()


def _table(sheet: WriteOnlyWorksheet, frame: pd.DataFrame) -> None:
    sheet.append([_styled(sheet, str(c), BOLD, HEADER_FILL) for c in frame.columns])
    for row in _values(frame):
        sheet.append([text_cell(sheet, v) for v in row])


def _widths(sheet: WriteOnlyWorksheet, widths: list[int]) -> None:
    for i, width in enumerate(widths, start=1):
        sheet.column_dimensions[chr(64 + i) if i <= 26 else "A" + chr(64 + i - 26)].width = width


def _section(sheet: WriteOnlyWorksheet, section: Section) -> None:
    sheet.append([_styled(sheet, section.title, ALARM if section.alarm else BOLD)])
    if section.columns:
        sheet.append([_styled(sheet, c, BOLD, HEADER_FILL) for c in section.columns])
    for row in section.rows:
        font = ALARM if section.alarm else None
        label, *rest = row
        sheet.append(
            [
                _styled(sheet, label, font or (BOLD if section.columns is None else None)),
                *[_styled(sheet, v, font) for v in rest],
            ]
        )
    if section.note:
        sheet.append([text_cell(sheet, section.note)])
    sheet.append([])


def _summary(workbook: Workbook, report: RunReport) -> None:
    sheet = workbook.create_sheet("Summary")
    _widths(sheet, [52, 24, 12, 70, 28, 10, 10])
    sheet.append([_styled(sheet, REPORT_TITLE, TITLE)])
    sheet.append([])
    for section in summary_sections(report):
        _section(sheet, section)


def _listing(workbook: Workbook, report: RunReport, kind: str) -> None:
    listing = report.listings[kind]
    sheet = workbook.create_sheet(listing.name)
    _widths(sheet, [14, 16, 30, 24, 48, 18, 18, 18, 18, 30, 30, 10, 12, 30, 30, 8])
    sheet.freeze_panes = "A5"
    sheet.append([_styled(sheet, f"{listing.name}: {listing.intro}", BOLD)])
    sheet.append([text_cell(sheet, listing_note(report, kind))])
    sheet.append([])
    _table(sheet, listing.frame)


def _reconciliation(workbook: Workbook, report: RunReport) -> None:
    sheet = workbook.create_sheet("Reconciliation")
    _widths(sheet, [70, 12, 12, 12] + [12] * 14)
    sheet.append([_styled(sheet, "Checks: each must hold", BOLD)])
    _table(sheet, report.checks)
    sheet.append([])
    sheet.append(
        [
            _styled(
                sheet,
                "Per ACCME activity (claims of this run's input and claims waiting from earlier "
                "runs; rows and credits in this run's registry files)",
                BOLD,
            )
        ]
    )
    _table(sheet, report.reconciliation)


def _history(workbook: Workbook, report: RunReport) -> None:
    sheet = workbook.create_sheet("History")
    _widths(sheet, [12, 12, 12, 12] + [11] * 10)
    sheet.append([_styled(sheet, f"The last {len(report.history)} runs up to this one, oldest first", BOLD)])
    _table(sheet, report.history)
    if report.history.empty:
        return
    chart = BarChart()
    chart.type = "col"
    chart.grouping = "stacked"
    chart.overlap = 100
    chart.title = "Claims by outcome, recent runs"
    chart.y_axis.title = "claims"
    chart.x_axis.title = "run"
    first_col = list(report.history.columns).index(OUTCOMES[0]) + 1
    last_row = len(report.history) + 2
    data = Reference(sheet, min_col=first_col, max_col=first_col + len(OUTCOMES) - 1, min_row=2, max_row=last_row)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=1, min_row=3, max_row=last_row))
    chart.width, chart.height = 24, 10
    sheet.add_chart(chart, f"A{last_row + 3}")


def save_workbook(report: RunReport, path: Path) -> None:
    workbook = Workbook(write_only=True)
    _summary(workbook, report)
    for kind in ("submitted", "corrections", "delayed", "rejected"):
        _listing(workbook, report, kind)
    _reconciliation(workbook, report)
    _history(workbook, report)
    workbook.save(path)
