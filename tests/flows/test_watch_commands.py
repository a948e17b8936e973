"""Issue 5: `cme-relay status`, `delayed` and `report` read the ledger, never Prefect, never identity."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from flows.cli import app
from load.ledger.database import open_ledger
from load.ledger.queries import delayed_claims, recent_runs, run_report
from load.ledger.tables import claims, run_files, runs

ROOT = Path(__file__).resolve().parents[2]
RUN_OLD = "11111111-aaaa-4000-8000-000000000001"
RUN_NEW = "22222222-bbbb-4000-8000-000000000002"
RUN_TWIN = "22222222-cccc-4000-8000-000000000003"
IDENTITY = ["Quinnella", "Zebrowski", "quinnella@example.org", "1234567893", "LIC-998877", "03/14/1971"]


def _counts(**outcomes: int) -> dict:
    base = {
        "input_rows": 0,
        "submitted": 0,
        "corrected": 0,
        "revoked": 0,
        "delayed": 0,
        "rejected": 0,
        "unchanged": 0,
        "duplicate": 0,
    }
    base.update(outcomes)
    base["input_rows"] = sum(v for k, v in base.items() if k != "input_rows")
    return {
        "counts": base,
        "carried_over": {"submitted": 0, "delayed": 0, "rejected": 0},
        "reasons": {
            "rejected": {"NOT_PHYSICIAN": outcomes.get("rejected", 0)},
            "delayed": {"ACTIVITY_NOT_MAPPED": outcomes.get("delayed", 0)},
        },
    }


def _waiting(claim_id: str, completed: str, since: datetime, reason: str) -> dict:
    return {
        "claim_id": claim_id,
        "portal_activity_id": "CRS-0009",
        "activity_title": "Unlisted Session",
        "learner_id": "L-77",
        "first_name": "Quinnella",
        "last_name": "Zebrowski",
        "email": "quinnella@example.org",
        "npi": "1234567893",
        "license_number": "LIC-998877",
        "birth_date": "03/14/1971",
        "completion_date": completed,
        "state": "delayed",
        "reason": reason,
        "first_seen_run": RUN_OLD,
        "first_seen_at": since,
        "state_changed_at": since,
        "delayed_since": since,
        "last_run_id": RUN_NEW,
    }


@pytest.fixture
def ledger(workspace: Path) -> Path:
    """A ledger with two finished runs, one failed, and three waiting claims of known ages."""
    engine = open_ledger(os.environ["CME_RELAY_DATABASE_URL"])
    common = {
        "triggered_by": "office-pc",
        "as_of": date(2026, 11, 12),
        "dry_run": False,
        "code_version": "0.1.0",
        "cutoff": date(2023, 7, 1),
        "error": None,
    }
    reports = workspace / "reports" / RUN_NEW
    reports.mkdir(parents=True)
    (reports / "report.md").write_text("# run\n")
    with engine.begin() as conn:
        conn.execute(
            runs.insert(),
            [
                {
                    **common,
                    "run_id": RUN_OLD,
                    "trigger": "schedule",
                    "status": "succeeded",
                    "started_at": datetime(2026, 11, 12, 15, 0, tzinfo=UTC),
                    "finished_at": datetime(2026, 11, 12, 15, 1, tzinfo=UTC),
                    "counts": _counts(submitted=5, delayed=3, rejected=1),
                },
                {
                    **common,
                    "run_id": RUN_NEW,
                    "trigger": "manual",
                    "status": "succeeded",
                    "as_of": date(2026, 11, 26),
                    "started_at": datetime(2026, 11, 26, 15, 0, tzinfo=UTC),
                    "finished_at": datetime(2026, 11, 26, 15, 2, tzinfo=UTC),
                    "counts": _counts(unchanged=5, delayed=3),
                },
                {
                    **common,
                    "run_id": RUN_TWIN,
                    "trigger": "schedule",
                    "status": "failed",
                    "as_of": date(2026, 11, 26),
                    "started_at": datetime(2026, 11, 26, 16, 0, tzinfo=UTC),
                    "finished_at": datetime(2026, 11, 26, 16, 0, tzinfo=UTC),
                    "counts": _counts(),
                    "error": "export.csv: missing required column credits",
                },
            ],
        )
        conn.execute(
            run_files.insert(),
            [
                {
                    "run_id": RUN_OLD,
                    "role": "export",
                    "file_name": "export-nov12.csv",
                    "path": "/in/export-nov12.csv",
                    "sha256": "a" * 64,
                    "rows": 9,
                },
                {
                    "run_id": RUN_OLD,
                    "role": "registry",
                    "file_name": "PARS-20261112-11111111-01.xlsx",
                    "path": "/gone/PARS-20261112-11111111-01.xlsx",
                    "sha256": "b" * 64,
                    "rows": None,
                },
                {
                    "run_id": RUN_NEW,
                    "role": "export",
                    "file_name": "export-nov26.csv",
                    "path": "/in/export-nov26.csv",
                    "sha256": "c" * 64,
                    "rows": 8,
                },
                {
                    "run_id": RUN_NEW,
                    "role": "report",
                    "file_name": "report.md",
                    "path": str(reports / "report.md"),
                    "sha256": "d" * 64,
                    "rows": None,
                },
            ],
        )
        conn.execute(
            claims.insert(),
            [
                # completed 2026-10-26: 31 days before 2026-11-26, past the 30-day expectation
                _waiting("CLM-LATE", "10/26/2026", datetime(2026, 11, 12, 15, 0, tzinfo=UTC), "ACTIVITY_NOT_MAPPED"),
                # completed 2026-10-27: exactly 30 days, not past it yet
                _waiting(
                    "CLM-EDGE", "10/27/2026", datetime(2026, 11, 12, 15, 0, tzinfo=UTC), "ACTIVITY_NOT_REGISTERED"
                ),
                # held back late in the evening Pacific time (next day in UTC): waiting since the 25th locally
                _waiting(
                    "CLM-NEW", "11/20/2026", datetime(2026, 11, 26, 5, 0, tzinfo=UTC), "LEARNER_IDENTITY_INCOMPLETE"
                ),
                {
                    **_waiting("CLM-SENT", "11/01/2026", datetime(2026, 11, 12, 15, 0, tzinfo=UTC), ""),
                    "state": "submitted",
                    "reason": None,
                    "delayed_since": None,
                },
            ],
        )
    engine.dispose()
    return workspace


def engine_of() -> sa.Engine:
    return sa.create_engine(os.environ["CME_RELAY_DATABASE_URL"])


def test_recent_runs_newest_first_with_counts_and_files(ledger):
    records = recent_runs(engine_of(), limit=2)
    assert [r["run_id"] for r in records] == [RUN_TWIN, RUN_NEW]
    new = records[1]
    assert (new["trigger"], new["triggered_by"], new["status"]) == ("manual", "office-pc", "succeeded")
    assert new["counts"]["unchanged"] == 5 and new["counts"]["input_rows"] == 8
    assert new["files"]["export"] == ["export-nov26.csv"]
    assert new["started_at"] == "2026-11-26T15:00:00+00:00"
    assert records[0]["error"] == "export.csv: missing required column credits"


def test_delayed_ages_from_completion_and_from_first_delay(ledger):
    waiting = delayed_claims(engine_of(), date(2026, 11, 26), "America/Los_Angeles").set_index("claim_id")
    assert sorted(waiting.index) == ["CLM-EDGE", "CLM-LATE", "CLM-NEW"]  # the submitted claim is not waiting
    assert waiting.loc["CLM-LATE", "days_since_completion"] == 31
    assert bool(waiting.loc["CLM-LATE", "past_expectation"]) is True
    assert waiting.loc["CLM-EDGE", "days_since_completion"] == 30
    assert bool(waiting.loc["CLM-EDGE", "past_expectation"]) is False
    assert waiting.loc["CLM-LATE", "delayed_since"] == "2026-11-12"
    assert waiting.loc["CLM-LATE", "days_delayed"] == 14
    assert waiting.loc["CLM-NEW", "delayed_since"] == "2026-11-25"  # 05:00 UTC is the evening before in LA
    assert waiting.loc["CLM-NEW", "days_delayed"] == 1
    assert waiting.loc["CLM-NEW", "reason"] == "LEARNER_IDENTITY_INCOMPLETE"
    assert list(waiting.index)[0] == "CLM-LATE"  # oldest completion first


def test_report_by_prefix_and_unknown_or_ambiguous_ids(ledger):
    record = run_report(engine_of(), RUN_NEW[:8] + "-bbbb")
    assert record is not None and record["run_id"] == RUN_NEW
    [report] = [f for f in record["file_details"] if f["role"] == "report"]
    assert report["exists"] is True and report["path"].endswith(f"{RUN_NEW}/report.md")
    assert run_report(engine_of(), "99999999") is None
    with pytest.raises(LookupError, match="matches 2 runs"):
        run_report(engine_of(), "22222222")


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_cli_tables_and_json(ledger, monkeypatch):
    monkeypatch.setenv("COLUMNS", "220")
    code, text = _cli("status", "--limit", "5")
    assert code == 0 and "export-nov26.csv" in text and "schedule / office-pc" in text and "failed" in text
    code, text = _cli("status", "--json", "--limit", "1")
    assert code == 0 and [r["run_id"] for r in json.loads(text)["runs"]] == [RUN_TWIN]
    code, text = _cli("delayed", "--as-of", "2026-11-26")
    assert code == 0 and "CLM-LATE" in text and "1 past the 30-day expectation" in text
    code, text = _cli("delayed", "--json", "--as-of", "2026-11-26")
    payload = json.loads(text)
    assert (payload["count"], payload["past_expectation"], payload["expectation_days"]) == (3, 1, 30)
    assert set(payload["claims"][0]) >= {
        "claim_id",
        "reason",
        "completion_date",
        "delayed_since",
        "days_since_completion",
        "days_delayed",
        "past_expectation",
    }
    code, text = _cli("report", RUN_OLD[:8])
    assert code == 0 and "PARS-20261112-11111111-01.xlsx" in text and "(missing)" in text
    code, text = _cli("report", RUN_NEW, "--json")
    assert code == 0 and json.loads(text)["counts"]["unchanged"] == 5


def test_cli_exit_codes(ledger):
    code, text = _cli("report", "deadbeef")
    assert code == 1 and "No run 'deadbeef'" in text
    assert _cli("report", "22222222")[0] == 1  # ambiguous prefix
    assert _cli("status", "--limit", "0")[0] == 2
    assert _cli("delayed", "--as-of", "26/11/2026")[0] == 2
    assert _cli("report")[0] == 2


def test_no_ledger_yet_creates_nothing(workspace):
    assert _cli("status") == (0, "No runs yet.\n")
    assert _cli("delayed") == (0, "No claims are waiting.\n")
    assert _cli("report", "abc")[0] == 1
    assert not (workspace / "ledger.db").exists()


def test_commands_answer_without_prefect_and_without_identity(ledger):
    script = f"""
import json, sys
from typer.testing import CliRunner
from flows.cli import app
outputs = {{}}
for args in (["status"], ["status", "--json"], ["delayed"], ["delayed", "--json"], ["report", "{RUN_NEW}"],
             ["report", "{RUN_NEW}", "--json"]):
    result = CliRunner().invoke(app, args)
    outputs[" ".join(args)] = [result.exit_code, result.output]
outputs["prefect modules"] = sorted(m for m in sys.modules if m == "prefect" or m.startswith("prefect."))
print(json.dumps(outputs))
"""
    env = {**os.environ, "COLUMNS": "220"}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ledger, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    outputs = json.loads(done.stdout)
    assert outputs.pop("prefect modules") == []
    for command, (code, text) in outputs.items():
        assert code == 0, (command, text)
        assert "CLM-" in text or RUN_NEW[:8] in text, command
        leaked = [value for value in IDENTITY if value in text]
        assert not leaked, (command, leaked)
