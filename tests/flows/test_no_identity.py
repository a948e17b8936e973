"""Issue 5: learner identity never reaches logs, Prefect (logs, artifacts, parameters) or the watch commands."""

from __future__ import annotations

import json
import logging
import re

import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.conftest import AS_OF, SAMPLES

IDENTITY_COLUMNS = ("First Name", "Last Name", "Email", "NPI", "License Number", "Date of Birth")


def identity_pattern(sample) -> re.Pattern[str]:  # type: ignore[no-untyped-def]
    """Every identity value of the sample as a whole word (a name inside another word is no leak)."""
    frame = pd.read_csv(sample, dtype=str)
    values = {v.strip() for c in IDENTITY_COLUMNS if c in frame for v in frame[c].dropna() if len(v.strip()) >= 3}
    alternatives = "|".join(re.escape(v) for v in sorted(values, key=len, reverse=True))
    return re.compile(rf"(?<![\w/]){alternatives}(?![\w/])")


def prefect_records(flow_run_id):  # type: ignore[no-untyped-def]
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        LogFilter,
        LogFilterFlowRunId,
    )
    from prefect.logging.handlers import APILogHandler

    APILogHandler().flush()  # logs go to the API in the background: send them all first
    with get_client(sync_client=True) as client:
        logs, offset = [], 0
        while page := client.read_logs(
            LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])), limit=200, offset=offset
        ):
            logs += [log.message for log in page]
            offset += len(page)
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
        flow_run = client.read_flow_run(flow_run_id)
    return logs, [json.dumps(a.data, default=str) + (a.description or "") for a in artifacts], flow_run.parameters


@pytest.mark.flow
@pytest.mark.parametrize("sample", ["portal_export_biweekly.csv", "portal_export_missing_required_column.csv"])
def test_no_learner_identity_in_logs_artifacts_parameters_or_watch_commands(
    prefect_harness, workspace, caplog, monkeypatch, sample
):
    from flows.cli import app
    from flows.credit_reporting import credit_reporting, run_summary

    caplog.set_level(logging.DEBUG)
    export = SAMPLES / sample
    leak = identity_pattern(export)
    assert leak.search("Exampleby") or leak.search("Testwell")  # the pattern does find the sample's names

    state = credit_reporting(exports=[str(export)], as_of=AS_OF, return_state=True)
    summary = run_summary(state)
    logs, artifacts, parameters = prefect_records(state.state_details.flow_run_id)
    assert any(export.name in message for message in logs)  # the run did log, through the API

    captured = [record.getMessage() for record in caplog.records]
    captured += [logging.Formatter().formatException(r.exc_info) for r in caplog.records if r.exc_info]
    monkeypatch.setenv("COLUMNS", "220")
    watch = [
        CliRunner().invoke(app, args).output
        for args in (
            ["status"],
            ["status", "--json"],
            ["delayed"],
            ["delayed", "--json"],
            ["report", summary["run_id"]],
            ["report", summary["run_id"], "--json"],
        )
    ]
    for where, texts in {
        "caplog": captured,
        "Prefect logs": logs,
        "artifacts": artifacts,
        "parameters": [json.dumps(parameters)],
        "summary": [json.dumps(summary)],
        "watch commands": watch,
    }.items():
        found = sorted({m.group(0) for text in texts for m in leak.finditer(text)})
        assert not found, f"learner identity in {where}: {found[:5]}"
