"""Issue 2: the whole path once, with a real Prefect flow run, real files and a real SQLite ledger."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa

from schemas.reasons import OUTCOMES
from schemas.registry_row import REGISTRY_HEADERS, TEMPLATE_SHEET
from tests.conftest import SAMPLES
from tests.factories import claim, write_export

pytestmark = pytest.mark.flow
BIWEEKLY = SAMPLES / "portal_export_biweekly.csv"


def ledger_count(workspace: Path, table: str) -> int:
    engine = sa.create_engine(f"sqlite:///{workspace / 'ledger.db'}")
    with engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one()


def test_samples_run_end_to_end(run_flow, workspace):
    summary = run_flow(BIWEEKLY)
    assert summary["status"] == "succeeded", summary["error"]
    counts = summary["counts"]
    assert counts["input_rows"] == len(pd.read_csv(BIWEEKLY, dtype=str))
    assert counts["input_rows"] == sum(counts[o] for o in OUTCOMES)
    assert sum(summary["reasons"]["rejected"].values()) == counts["rejected"]
    assert sum(summary["reasons"]["delayed"].values()) == counts["delayed"]
    assert counts["submitted"] > 0 and counts["delayed"] > 0 and counts["rejected"] > 0
    assert {"EARNED_BEFORE_CUTOFF", "NOT_PHYSICIAN"} <= set(summary["reasons"]["rejected"])
    assert {"ACTIVITY_NOT_MAPPED", "ACTIVITY_NOT_REGISTERED", "LEARNER_IDENTITY_INCOMPLETE"} <= set(
        summary["reasons"]["delayed"]
    )
    [registry_file] = summary["submission_files"]
    workbook = openpyxl.load_workbook(registry_file)
    sheet = workbook[TEMPLATE_SHEET]
    header = [c.value.strip() if isinstance(c.value, str) else c.value for c in sheet[2]]
    assert header == list(REGISTRY_HEADERS)
    assert sheet.max_row - 2 == counts["submitted"] == ledger_count(workspace, "sent_rows")
    assert all(Path(p).exists() for p in summary["report_files"])


def test_second_run_sends_nothing(run_flow, workspace):
    first = run_flow(BIWEEKLY)
    again = run_flow(BIWEEKLY)
    assert again["status"] == "succeeded"
    assert again["counts"]["input_rows"] == 0  # the same file (same checksum) is skipped
    assert again["submission_files"] == []
    # The same claims in a new file: judged again, nothing new to send.
    copy = workspace / "resent.csv"
    copy.write_bytes(BIWEEKLY.read_bytes() + b"\n")
    third = run_flow(copy)
    assert third["counts"]["unchanged"] == first["counts"]["submitted"]
    assert third["counts"]["submitted"] == third["counts"]["corrected"] == 0
    assert third["submission_files"] == []
    assert ledger_count(workspace, "sent_rows") == first["counts"]["submitted"]
    assert ledger_count(workspace, "batches") == 1


def test_cutoff_boundary_through_the_flow(run_flow, workspace):
    export = write_export(
        workspace / "boundary.csv",
        [
            claim(**{"Claim ID": "EDGE-1", "Completion Date": "2023-06-30"}),
            claim(**{"Claim ID": "EDGE-2", "Completion Date": "2023-07-01"}),
        ],
    )
    from tests.factories import write_map

    summary = run_flow(export, mappings=write_map(workspace / "map.csv"))
    assert summary["counts"]["submitted"] == 1
    assert summary["reasons"]["rejected"] == {"EARNED_BEFORE_CUTOFF": 1}


def test_missing_required_column_fails_cleanly_and_loads_nothing(run_flow, workspace):
    missing = SAMPLES / "portal_export_missing_required_column.csv"
    summary = run_flow(missing)
    assert summary["status"] == "failed"
    assert missing.name in summary["error"] and "credits" in summary["error"].lower()
    for table in ("claims", "batches", "sent_rows", "run_outcomes", "ingested_exports"):
        assert ledger_count(workspace, table) == 0, table
    engine = sa.create_engine(f"sqlite:///{workspace / 'ledger.db'}")
    with engine.connect() as conn:
        status, error = conn.execute(sa.text("SELECT status, error FROM runs")).one()
    assert status == "failed" and missing.name in error
    assert list((workspace / "outbox").iterdir()) == []


def _cli(workspace: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PREFECT_LOGGING_LEVEL": "ERROR"}
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", *args], capture_output=True, text=True, env=env, cwd=workspace, timeout=300
    )


def test_cli_json_contract_and_exit_codes(workspace):
    ok = _cli(workspace, "run", "--export", str(BIWEEKLY), "--as-of", "2026-11-26", "--json")
    assert ok.returncode == 0, ok.stderr[-2000:]
    summary = json.loads(ok.stdout)
    assert set(summary) == {
        "run_id",
        "status",
        "as_of",
        "counts",
        "carried_over",
        "reasons",
        "submission_files",
        "report_files",
        "error",
    }
    assert set(summary["counts"]) == {"input_rows", *OUTCOMES}
    assert set(summary["carried_over"]) == {"submitted", "delayed", "rejected"}
    assert summary["as_of"] == "2026-11-26" and summary["error"] is None
    assert "Traceback" not in ok.stderr

    bad = _cli(workspace, "run", "--export", str(SAMPLES / "portal_export_missing_required_column.csv"), "--json")
    assert bad.returncode == 1
    assert json.loads(bad.stdout)["status"] == "failed"
    assert "Traceback" not in bad.stderr

    usage = _cli(workspace, "run", "--as-of", "not-a-date")
    assert usage.returncode == 2
