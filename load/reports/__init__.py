"""Run reports an auditor can read without the tool, built from the ledger for one run id.

`write_run_report` writes `report.xlsx`, `report.html`, `report.md` (and a CSV per listing too
long for a sheet) into REPORTS/<run_id>/, owner-only. `report_summary` is the identity-free
summary (counts, reasons, checks, files) used by the Prefect artifacts and `report.md`;
`write_report_files` writes the files and returns that summary too, built once (at a million
claims the grouping behind it takes seconds).

What a report holds at any size (issue 7): a million-row run is not listed in a sheet. Counts,
reasons with what staff should do, checks, reconciliation per ACCME activity (claims in, each
outcome, held back, rows and credits sent) and history always cover every row: they are
grouped in SQL. Each listing (submitted, corrections, delayed, rejected) shows its first
`SHEET_ROWS` (1,000) rows in the workbook and the page, in a stable order, under a line saying
"the first N of M rows are listed; all M are in <kind>.csv"; that CSV, beside the workbook, is
the complete listing: streamed from the ledger a chunk at a time (bounded memory), written by
Arrow, neutralised against formula injection, the same bytes for the same ledger.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from sqlalchemy.engine import Engine

from load.reports import queries
from load.reports.data import SHEET_ROWS, RunEnding, RunReport, build_report
from load.reports.files import private_dir, write_private, write_private_text
from load.reports.html import render_html
from load.reports.listings import KINDS
from load.reports.markdown import summary_markdown
from load.reports.workbook import save_workbook

__all__ = [
    "RunEnding",
    "WrittenReport",
    "report_summary",
    "summary_from_report",
    "write_report_files",
    "write_run_report",
]


@dataclass(frozen=True)
class WrittenReport:
    paths: list[Path]
    summary: dict  # as `report_summary`: identity-free, JSON-ready


def summary_from_report(report: RunReport) -> dict:
    """The identity-free summary of a built report (JSON-ready)."""
    header = dict(report.header)
    reasons: dict[str, dict[str, int]] = {}
    for row in report.reasons.itertuples():
        reasons.setdefault(str(row.outcome), {})[str(row.reason)] = int(row.claims)
    files = report.input_files.rename(columns={"SHA-256": "sha256"}).astype(object)
    outputs = report.output_files.rename(columns={"SHA-256": "sha256"}).astype(object)
    return {
        "run_id": report.run_id,
        "status": report.status,
        "error": report.error,
        "sent_note": report.sent_note,
        "trigger": header["trigger"],
        "triggered_by": header["triggered by"],
        "started_at": header["started"],
        "finished_at": header["finished"],
        "as_of": header["as-of date"],
        "code_version": header["code version"],
        "cutoff": dict(report.settings).get("cutoff (credit earned before it is rejected)"),
        "counts": dict(report.counts),
        "carried_over": dict(report.carried_over),
        "reasons": reasons,
        "checks": report.checks.astype(object).to_dict("records"),
        "input_files": files.where(files.notna(), None).to_dict("records"),
        "output_files": outputs.where(outputs.notna(), None).to_dict("records"),
    }


def report_summary(engine: Engine, run_id: str, *, ending: RunEnding | None = None) -> dict:
    """Counts, reasons, checks and files of one run, without learner identity."""
    report = build_report(engine, run_id, now=datetime.now(UTC), ending=ending, sheet_rows=0)
    plain = _plain(summary_from_report(report))
    assert isinstance(plain, dict)
    return plain


def _plain(value: object) -> object:
    """numpy and pandas scalars as plain Python (for JSON and Prefect)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if value is None or value is pd.NA:
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def write_run_report(
    engine: Engine,
    run_id: str,
    reports_dir: Path,
    *,
    now: datetime | None = None,
    ending: RunEnding | None = None,
    settings: Mapping[str, object] | None = None,
    sheet_rows: int = SHEET_ROWS,
) -> list[Path]:
    """Write the report of `run_id` into `reports_dir/<run_id>/`; returns the files written."""
    written = write_report_files(
        engine, run_id, reports_dir, now=now, ending=ending, settings=settings, sheet_rows=sheet_rows
    )
    return written.paths


def write_report_files(
    engine: Engine,
    run_id: str,
    reports_dir: Path,
    *,
    now: datetime | None = None,
    ending: RunEnding | None = None,
    settings: Mapping[str, object] | None = None,
    sheet_rows: int = SHEET_ROWS,
) -> WrittenReport:
    """Write the report of `run_id` into `reports_dir/<run_id>/`: the files and the summary.

    `now` stamps the report (pass a fixed time for a reproducible file); `ending` is what the
    flow knows before it closes the run record; `settings` are settings not kept in the ledger.
    """
    with engine.connect() as conn:
        queries.run_row(conn, run_id)  # an unknown run leaves no folder behind
    private_dir(Path(reports_dir))
    folder = private_dir(Path(reports_dir) / run_id)
    report = build_report(
        engine,
        run_id,
        now=now or datetime.now(UTC),
        ending=ending,
        settings=settings,
        sheet_rows=sheet_rows,
        complete_dir=folder,
    )
    summary = _plain(summary_from_report(report))
    assert isinstance(summary, dict)
    paths = [
        write_private(folder / "report.xlsx", lambda tmp: save_workbook(report, tmp)),
        write_private_text(folder / "report.html", render_html(report)),
        write_private_text(folder / "report.md", summary_markdown(summary)),
    ]
    for kind in KINDS:
        csv = folder / report.listings[kind].csv_name
        if report.listings[kind].more > 0:
            paths.append(csv)  # written complete while the listing was read
        else:
            csv.unlink(missing_ok=True)  # a listing that now fits leaves no stale complete list behind
    return WrittenReport(paths, summary)
