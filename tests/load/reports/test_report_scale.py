"""Issues 6 and 7 at scale: a run with more rows than a sheet lists stays readable and complete."""

from __future__ import annotations

from datetime import UTC, date, datetime

import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa

from load.ledger.bulk import insert_frame
from load.ledger.tables import claims, run_files, run_outcomes, runs
from load.reports import packed, write_run_report
from load.reports.data import SHEET_ROWS
from load.reports.html import HTML_ROWS
from schemas.portal_claim import CLAIM_FIELDS

from .ledger_fixture import FROZEN_NOW

BIG_RUN = "44444444-4444-4444-8444-444444444444"
ROWS = SHEET_ROWS + 2_345


def _big_run(engine) -> None:  # type: ignore[no-untyped-def]
    started = datetime(2026, 11, 26, 16, tzinfo=UTC)
    ids = pd.Series([f"B{n:07d}" for n in range(ROWS)])
    with engine.begin() as conn:
        conn.execute(
            runs.insert().values(
                run_id=BIG_RUN,
                trigger="schedule",
                triggered_by="prefect-schedule",
                started_at=started,
                finished_at=started,
                as_of=date(2026, 11, 26),
                status="succeeded",
                dry_run=False,
                code_version="0.1.0+abc1234",
                cutoff=date(2023, 7, 1),
            )
        )
        conn.execute(
            run_files.insert().values(
                run_id=BIG_RUN, role="export", file_name="full_history.csv", sha256="1" * 64, rows=ROWS
            )
        )
        record = pd.DataFrame({c: pd.Series(None, index=ids.index, dtype=object) for c in CLAIM_FIELDS})
        record["claim_id"], record["learner_id"] = ids, "L" + ids.str[1:]
        record["first_name"], record["last_name"] = "Morgan", "Bulkley"
        insert_frame(
            conn,
            claims,
            record.assign(
                source_file="full_history.csv",
                source_line=ids.index + 2,
                state="rejected",
                reason="EARNED_BEFORE_CUTOFF",
                first_seen_run=BIG_RUN,
                first_seen_at=pd.Timestamp(started),
                state_changed_at=pd.Timestamp(started),
                last_run_id=BIG_RUN,
                sent_version=0,
                live=False,
            ),
        )
        insert_frame(
            conn,
            run_outcomes,
            pd.DataFrame(
                {
                    "run_id": BIG_RUN,
                    "seq": ids.index,
                    "claim_id": ids,
                    "outcome": "rejected",
                    "reason": "EARNED_BEFORE_CUTOFF",
                    "source_file": "full_history.csv",
                    "source_line": ids.index + 2,
                    "carried": False,
                    "accme_activity_id": "202312345",
                    "credits": 1.0,
                }
            ),
        )


def test_listing_is_capped_per_sheet_and_complete_in_the_csv(ledger, tmp_path):
    _big_run(ledger)
    files = {p.name: p for p in write_run_report(ledger, BIG_RUN, tmp_path / "reports")}
    sheet = openpyxl.load_workbook(files["report.xlsx"], read_only=True)["Rejected"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][0].startswith(
        f"The first {SHEET_ROWS:,} of {ROWS:,} rows are listed; all {ROWS:,} are in rejected.csv"
    )
    assert len(rows) == 4 + SHEET_ROWS and rows[4][0] == "B0000000"
    complete = pd.read_csv(files["rejected.csv"], dtype=str, encoding="utf-8-sig")
    assert len(complete) == ROWS and complete["claim id"].is_unique and complete["line"].iloc[-1] == str(ROWS + 1)
    page = files["report.html"].read_text(encoding="utf-8")
    assert f"The first {HTML_ROWS:,} of {ROWS:,} rows are listed; all {ROWS:,} are in rejected.csv" in page
    assert page.split('id="listing-rejected"')[1].count("<td>EARNED_BEFORE_CUTOFF</td>") == HTML_ROWS
    assert f'id="count-rejected">{ROWS:,}<' in page


def _csv_rows(path) -> list[list[str]]:  # type: ignore[no-untyped-def]
    return pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False).values.tolist()


def test_complete_csv_is_the_same_bytes_whatever_the_chunk_size(ledger, tmp_path, monkeypatch):
    _big_run(ledger)
    one_chunk = {p.name: p for p in write_run_report(ledger, BIG_RUN, tmp_path / "a", now=FROZEN_NOW)}
    monkeypatch.setattr(packed, "CHUNK_ROWS", 700)  # five chunks, the sheet's rows spanning two
    chunked = {p.name: p for p in write_run_report(ledger, BIG_RUN, tmp_path / "b", now=FROZEN_NOW)}
    assert chunked["rejected.csv"].read_bytes() == one_chunk["rejected.csv"].read_bytes()
    assert chunked["report.html"].read_bytes() == one_chunk["report.html"].read_bytes()
    raw = chunked["rejected.csv"].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf" + b'"claim id","outcome","reason","what to do","source file","line"')
    sheet = openpyxl.load_workbook(chunked["report.xlsx"], read_only=True)["Rejected"]
    listed = [[("" if v is None else str(v)) for v in row] for row in sheet.iter_rows(min_row=5, values_only=True)]
    assert listed == _csv_rows(chunked["rejected.csv"])[:SHEET_ROWS]  # the sheet shows the CSV's first rows


@pytest.mark.parametrize("name", ["Bulk\x1fley", "=Bulk\x1fley"])
def test_a_value_holding_the_row_separator_is_listed_whole(ledger, tmp_path, monkeypatch, name):
    _big_run(ledger)
    with ledger.begin() as conn:  # in the third chunk: two chunks went out before the reread
        conn.execute(sa.update(claims).where(claims.c.claim_id == "B0001999").values(last_name=name))
    monkeypatch.setattr(packed, "CHUNK_ROWS", 700)
    files = {p.name: p for p in write_run_report(ledger, BIG_RUN, tmp_path / "reports")}
    complete = pd.read_csv(files["rejected.csv"], dtype=str, encoding="utf-8-sig")
    shown = name.replace(packed.SEP, "\ufffd")  # as the workbook shows a control character
    shown = "'" + shown if shown.startswith("=") else shown
    assert len(complete) == ROWS and complete["claim id"].is_unique
    assert complete["line"].tolist() == [str(n + 2) for n in range(ROWS)]
    assert complete.loc[complete["claim id"] == "B0001999", "last name"].tolist() == [shown]
    assert (complete.loc[complete["claim id"] != "B0001999", "last name"] == "Bulkley").all()
