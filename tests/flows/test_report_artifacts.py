"""Issue 6 through a real flow run: the report lands beside the run, the Prefect UI gets a markdown
summary and a table of counts, and neither artifact names a learner."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import pandas as pd
import pytest

from flows.artifacts import COUNTS_KEY, SUMMARY_KEY
from tests.conftest import AS_OF, SAMPLES

pytestmark = pytest.mark.flow
IDENTITY_COLUMNS = ("First Name", "Last Name", "Email", "NPI", "License Number")


def _run(export: Path) -> tuple[dict, dict]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    from flows.credit_reporting import credit_reporting, run_summary

    state = credit_reporting(exports=[str(export)], as_of=AS_OF, return_state=True)
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id]))
        )
    return run_summary(state), {a.key: a for a in artifacts}


def _identity(export: Path) -> set[str]:
    frame = pd.read_csv(export, dtype=str)
    return {v.strip() for c in IDENTITY_COLUMNS if c in frame for v in frame[c].dropna() if len(v.strip()) >= 4}


def test_report_files_and_artifacts_of_a_run(prefect_harness, workspace):
    export = SAMPLES / "portal_export_biweekly.csv"
    summary, artifacts = _run(export)
    assert summary["status"] == "succeeded", summary["error"]
    folder = workspace / "reports" / summary["run_id"]
    assert {Path(p).name for p in summary["report_files"]} >= {"report.xlsx", "report.html", "report.md"}
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(Path(p).stat().st_mode) == 0o600 for p in summary["report_files"])
    page = (folder / "report.html").read_text(encoding="utf-8")
    for name in ("input_rows", "submitted", "delayed", "rejected"):
        assert f'id="count-{name.replace("_", "-")}">{summary["counts"][name]:,}<' in page
    assert "Registry file(s) to upload to PARS" in page and Path(summary["submission_files"][0]).name in page

    assert set(artifacts) == {SUMMARY_KEY, COUNTS_KEY}
    table = (
        json.loads(artifacts[COUNTS_KEY].data)
        if isinstance(artifacts[COUNTS_KEY].data, str)
        else artifacts[COUNTS_KEY].data
    )
    outcomes = {row["outcome"]: row["claims"] for row in table if row["group"] in ("input", "outcome")}
    assert outcomes == {
        "input rows": summary["counts"]["input_rows"],
        **{k: v for k, v in summary["counts"].items() if k != "input_rows"},
    }
    reasons = {row["reason"]: row["claims"] for row in table if row["group"] == "reason"}
    assert {k: reasons[k] for k in summary["reasons"]["rejected"]} == summary["reasons"]["rejected"]
    markdown = artifacts[SUMMARY_KEY].data
    assert summary["run_id"] in markdown and f"| submitted | {summary['counts']['submitted']} |" in markdown
    published = markdown + json.dumps(table)
    leaked = [v for v in _identity(export) if re.search(rf"(?<![\w/]){re.escape(v)}(?![\w/])", published)]
    assert leaked == []


def test_failed_run_report_says_what_failed_and_nothing_sent(prefect_harness, workspace):
    export = SAMPLES / "portal_export_missing_required_column.csv"
    summary, artifacts = _run(export)
    assert summary["status"] == "failed" and summary["submission_files"] == []
    page = (workspace / "reports" / summary["run_id"] / "report.html").read_text(encoding="utf-8")
    assert 'section id="result" class="alarm"' in page
    assert "Nothing was sent" in page and export.name in page
    assert "**Run failed.**" in artifacts[SUMMARY_KEY].data and export.name in artifacts[SUMMARY_KEY].data
    assert list((workspace / "outbox").iterdir()) == []
