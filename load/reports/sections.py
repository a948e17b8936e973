"""The summary of a run report as titled sections: one content model for the workbook's Summary
sheet, the HTML page and the markdown summary, so they cannot drift apart."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from load.reports.data import RunReport
from schemas.reasons import OUTCOMES

REPORT_TITLE = "cme-relay run report"


@dataclass(frozen=True)
class Section:
    title: str
    columns: list[str] | None  # None: label and value pairs
    rows: list[list[object]] = field(default_factory=list)
    note: str = ""
    alarm: bool = False
    key: str = ""  # a stable id for the HTML page


def _rows(frame: pd.DataFrame, columns: list[str]) -> list[list[object]]:
    return frame[columns].astype(object).where(frame[columns].notna(), None).to_numpy().tolist()


def listing_note(report: RunReport, kind: str) -> str:
    listing = report.listings[kind]
    if listing.total == 0:
        return "None in this run."
    if listing.more <= 0:
        return f"All {listing.total:,} rows are listed." if listing.total > 1 else "Its one row is listed."
    return (
        f"The first {len(listing.frame):,} of {listing.total:,} rows are listed; all {listing.total:,} are in "
        f"{listing.csv_name} in this report's folder, and in the ledger (run_outcomes of run {report.run_id})."
    )


def result_section(report: RunReport) -> Section:
    failed = report.status != "succeeded"
    rows: list[list[object]] = [["status", report.status]]
    if report.error:
        rows.append(["what failed", report.error])
    rows.append(["what was sent", report.sent_note])
    return Section("Result", None, rows, alarm=failed, key="result")


def summary_sections(report: RunReport) -> list[Section]:
    counts = report.counts
    outcome_rows: list[list[object]] = [["input rows", counts["input_rows"]]]
    outcome_rows += [[o, counts[o]] for o in OUTCOMES]
    outcome_rows.append(["sum of outcomes", sum(counts[o] for o in OUTCOMES)])
    outputs = _rows(report.output_files, ["file", "role", "rows", "SHA-256", "status", "adds", "deletes"])
    outputs.append(
        [
            "report.xlsx, report.html, report.md",
            "report",
            None,
            "recorded in the ledger (run_files) once written",
            "",
            None,
            None,
        ]
    )
    return [
        result_section(report),  # first: what happened and what was sent, before the details
        Section("Run", None, [[k, v] for k, v in report.header], key="run"),
        Section("Settings that matter", None, [[k, v] for k, v in report.settings], key="settings"),
        Section(
            "Input files",
            ["file", "role", "rows", "SHA-256", "note"],
            _rows(report.input_files, ["file", "role", "rows", "SHA-256", "note"]),
            note="" if not report.input_files.empty else "No input file was recorded.",
            key="inputs",
        ),
        Section(
            "Output files", ["file", "role", "rows", "SHA-256", "status", "adds", "deletes"], outputs, key="outputs"
        ),
        Section(
            "Outcomes of this run's input rows",
            ["outcome", "claims"],
            outcome_rows,
            note="Every input row gets exactly one outcome: input rows = sum of outcomes.",
            key="outcomes",
        ),
        Section(
            "Claims waiting from earlier runs, judged again (carried over)",
            ["outcome", "claims"],
            [[k, v] for k, v in report.carried_over.items()],
            key="carried",
        ),
        Section(
            "Reasons",
            ["reason", "outcome", "claims", "what to do"],
            _rows(report.reasons, ["reason", "outcome", "claims", "what to do"]),
            note="" if not report.reasons.empty else "No claim was held back or changed.",
            key="reasons",
        ),
        Section(
            "Checks",
            ["check", "holds", "expected", "found"],
            _rows(report.checks, ["check", "holds", "expected", "found"]),
            key="checks",
        ),
        Section(
            "This report",
            None,
            [
                ["generated", report.generated_at],
                [
                    "rows listed per sheet and page",
                    f"the first {report.sheet_rows:,}; a longer listing is complete in a CSV in this folder",
                ],
                [
                    "who may read it",
                    "the owner of the reports folder only (files 0600, folder 0700): it names learners",
                ],
            ],
            key="about",
        ),
    ]
