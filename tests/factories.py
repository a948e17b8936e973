"""Building synthetic claims and maps for tests: valid by default, override what a test needs."""

from __future__ import annotations

import itertools
from pathlib import Path

import pandas as pd

_ids = itertools.count(1)

# A valid NPI (check digit over 80840 + first nine digits): 1234567893.
VALID_NPI = "1234567893"

MAP_ROWS = [
    {
        "Portal Activity ID": "ACT-1",
        "ACCME Activity ID": "202312345",
        "Max Credits": "10",
        "Start Date": "2023-01-01",
        "End Date": "2027-12-31",
    },
    {
        "Portal Activity ID": "ACT-2",
        "ACCME Activity ID": "202412346",
        "Max Credits": "2",
        "Start Date": "2024-01-01",
        "End Date": "2027-12-31",
    },
    {
        "Portal Activity ID": "ACT-NOID",
        "ACCME Activity ID": "",
        "Max Credits": "5",
        "Start Date": "2023-01-01",
        "End Date": "2027-12-31",
    },
]


def claim(**overrides: object) -> dict:
    """One portal export row (portal header spellings) that would be submitted as is."""
    n = next(_ids)
    row = {
        "Claim ID": f"C{n:06d}",
        "Activity ID": "ACT-1",
        "Learner ID": f"L{n:05d}",
        "First Name": "Avery",
        "Last Name": "Testwell",
        "Email": "avery.testwell@example.org",
        "Degree": "MD",
        "Date of Birth": "04/12/1980",
        "License State": "CA",
        "License Number": "A12345",
        "NPI": VALID_NPI,
        "Credit Type": "AMA PRA Category 1 Credit™",
        "Credits": "1.5",
        "Completion Date": "2026-10-01",
        "Claim Date": "2026-10-02",
        "Report Consent": "Y",
        "Claim Status": "Active",
    }
    row.update({k: ("" if v is None else v) for k, v in overrides.items()})
    return row


def write_export(path: Path, rows: list[dict], encoding: str = "utf-8") -> Path:
    pd.DataFrame(rows).to_csv(path, index=False, encoding=encoding)
    return path


def write_map(path: Path, rows: list[dict] | None = None) -> Path:
    pd.DataFrame(rows if rows is not None else MAP_ROWS).to_csv(path, index=False)
    return path


def judge_rows(
    tmp_path: Path,
    rows: list[dict],
    map_rows: list[dict] | None = None,
    *,
    as_of: str = "2026-11-26",
    cutoff: str = "2023-07-01",
    ledger=None,
):  # type: ignore[no-untyped-def]
    """Write rows as an export, read them through `extract`, judge them against a ledger view
    (empty by default): the whole pure path of one run, without Prefect or a database."""
    from extract import read_activity_map, read_portal_export
    from schemas.portal_claim import CLAIM_FIELDS, SOURCE_COLUMNS
    from transform.judge import LedgerView, judge_run
    from transform.mapping import usable_activity_map

    export = write_export(tmp_path / f"export_{next(_ids)}.csv", rows)
    raw = read_portal_export(export).assign(file_order=0)
    activity_map = usable_activity_map(read_activity_map(write_map(tmp_path / f"map_{next(_ids)}.csv", map_rows)))
    view = ledger or LedgerView.empty([*CLAIM_FIELDS, *SOURCE_COLUMNS])
    return judge_run(raw, activity_map, view, cutoff=pd.Timestamp(cutoff), as_of=pd.Timestamp(as_of))
