"""The run report: a workbook and a markdown page in the run's own folder under REPORTS.

Learner identity appears only here (access-restricted files, 0600 in a 0700 folder).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
from openpyxl import Workbook

from schemas.reasons import STAFF_FIX

LISTING_LIMIT = 50_000  # an auditor gets counts for everything and rows up to this many per sheet
LISTING_COLUMNS = ["claim_id", "outcome", "reason", "source_file", "source_line", "portal_activity_id",
                   "accme_activity_id", "completion_date", "credits", "learner_id", "first_name", "last_name"]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def neutralise(value: object) -> object:
    """A text cell a spreadsheet would run is stored as text showing the same characters."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def _listing(claims: pd.DataFrame, outcomes: list[str]) -> pd.DataFrame:
    rows = claims[claims["outcome"].isin(outcomes)]
    columns = [c for c in LISTING_COLUMNS if c in rows.columns]
    listing = rows[columns].head(LISTING_LIMIT).copy()
    if "reason" in listing:
        listing["what to do"] = listing["reason"].map(STAFF_FIX)
    return listing


def _sheet(workbook: Workbook, title: str, frame: pd.DataFrame) -> None:
    sheet = workbook.create_sheet(title)
    sheet.append([str(c) for c in frame.columns])
    for row in frame.astype(object).where(frame.notna(), None).itertuples(index=False, name=None):
        sheet.append([neutralise(v) for v in row])


def write_run_report(folder: Path, summary: dict, header: dict, claims: pd.DataFrame | None) -> list[Path]:
    """Write `report.xlsx` and `report.md` for one run; returns their paths."""
    folder = _private_dir(folder)
    workbook = Workbook()
    first = workbook.active
    assert first is not None
    first.title = "Summary"
    for key, value in header.items():
        first.append([key, neutralise(str(value))])
    first.append([])
    first.append(["outcome", "claims"])
    for key, value in summary["counts"].items():
        first.append([key, value])
    for kind, codes in summary["reasons"].items():
        for code, n in codes.items():
            first.append([f"{kind}: {code}", n])
    if claims is not None:
        _sheet(workbook, "Submitted", _listing(claims, ["submitted", "corrected", "revoked"]))
        _sheet(workbook, "Delayed", _listing(claims, ["delayed"]))
        _sheet(workbook, "Rejected", _listing(claims, ["rejected", "duplicate"]))
    xlsx = folder / "report.xlsx"
    tmp = folder / ".report.xlsx.tmp"
    workbook.save(tmp)
    os.chmod(tmp, 0o600)
    os.replace(tmp, xlsx)
    md = folder / "report.md"
    lines = [f"# cme-relay run {summary['run_id']}", ""]
    lines += [f"- **{k}**: {v}" for k, v in header.items()]
    lines += ["", "| outcome | claims |", "|---|---:|"]
    lines += [f"| {k} | {v} |" for k, v in summary["counts"].items()]
    if summary.get("error"):
        lines += ["", f"**Run failed:** {summary['error']}", "", "Nothing was sent."]
    md.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.chmod(md, 0o600)
    return [xlsx, md]
