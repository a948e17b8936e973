"""Issue 4 through real flow runs: the ledger across runs, faults and races, row by row.

Faults and races run the flow in subprocesses (killed with SIGKILL, or racing each other) that
talk to the session's Prefect test server, so they cost seconds rather than a server start each.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from load.ledger.rebuild import rebuild_batch_file
from schemas.registry_row import REGISTRY_FIELDS
from tests.factories import MAP_ROWS, VALID_NPI, claim, write_export, write_map

pytestmark = pytest.mark.flow
REGISTERED = [{**r, "ACCME Activity ID": "202499999"} if r["Portal Activity ID"] == "ACT-NOID" else r for r in MAP_ROWS]
VALUES = [f for f in REGISTRY_FIELDS if f != "action"]


def ledger(workspace: Path) -> sa.Engine:
    return sa.create_engine(f"sqlite:///{workspace / 'ledger.db'}")


def rows(workspace: Path, sql: str) -> pd.DataFrame:
    engine = ledger(workspace)
    with engine.connect() as conn:
        frame = pd.read_sql(sa.text(sql), conn)
    engine.dispose()
    return frame


def n(workspace: Path, table: str, where: str = "") -> int:
    return int(rows(workspace, f"SELECT COUNT(*) AS n FROM {table} {where}")["n"].iloc[0])


def by_claim(frame: pd.DataFrame) -> dict[str, str]:
    return dict(zip(frame["claim_id"], frame["outcome"], strict=True))


def test_delayed_claims_wait_with_their_latest_data_and_go_when_registered(run_flow, workspace):
    unregistered = write_map(workspace / "map.csv")
    first = run_flow(
        write_export(
            workspace / "week1.csv",
            [
                claim(**{"Claim ID": "W-REG", "Activity ID": "ACT-NOID", "Credits": "0.5"}),
                claim(**{"Claim ID": "W-MAP", "Activity ID": "ACT-UNKNOWN"}),
                claim(**{"Claim ID": "S-1"}),
            ],
        ),
        mappings=unregistered,
    )
    assert first["status"] == "succeeded", first["error"]
    assert (first["counts"]["submitted"], first["counts"]["delayed"]) == (1, 2)
    assert first["reasons"]["delayed"] == {"ACTIVITY_NOT_MAPPED": 1, "ACTIVITY_NOT_REGISTERED": 1}

    # A delta export: W-REG again with new credits (still waiting), W-MAP absent, one new claim.
    second = run_flow(
        write_export(
            workspace / "week2.csv",
            [
                claim(**{"Claim ID": "W-REG", "Activity ID": "ACT-NOID", "Credits": "0.75"}),
                claim(**{"Claim ID": "S-2"}),
            ],
        ),
        mappings=unregistered,
    )
    assert second["counts"]["input_rows"] == 2
    assert (second["counts"]["submitted"], second["counts"]["delayed"]) == (1, 1)
    assert second["carried_over"] == {"submitted": 0, "delayed": 1, "rejected": 0}
    waiting = rows(workspace, "SELECT claim_id, credits, state, first_seen_run FROM claims WHERE state = 'delayed'")
    assert dict(zip(waiting["claim_id"], waiting["credits"], strict=True)) == {"W-REG": "0.75", "W-MAP": "1.5"}
    assert set(waiting["first_seen_run"]) == {first["run_id"]}
    outcomes = rows(
        workspace, f"SELECT claim_id, outcome, carried FROM run_outcomes WHERE run_id = '{second['run_id']}'"
    )
    assert by_claim(outcomes) == {"W-REG": "delayed", "S-2": "submitted", "W-MAP": "delayed"}
    assert dict(zip(outcomes["claim_id"], outcomes["carried"].astype(bool), strict=True))["W-MAP"]

    # Staff register the activity; a run with no new export sends the waiting claim with its latest data.
    third = run_flow(mappings=write_map(workspace / "registered.csv", REGISTERED))
    assert third["status"] == "succeeded", third["error"]
    assert third["counts"]["input_rows"] == 0 and third["counts"]["submitted"] == 0
    assert third["carried_over"] == {"submitted": 1, "delayed": 1, "rejected": 0}
    outcomes = rows(
        workspace, f"SELECT claim_id, outcome, carried FROM run_outcomes WHERE run_id = '{third['run_id']}'"
    )
    assert by_claim(outcomes) == {"W-REG": "submitted", "W-MAP": "delayed"}
    assert outcomes["carried"].astype(bool).all()
    sent = rows(
        workspace, "SELECT claim_id, action, version, accme_activity_id, credits FROM sent_rows ORDER BY claim_id"
    )
    assert sent.values.tolist() == [
        ["S-1", "Add", 1, "202312345", "1.5"],
        ["S-2", "Add", 1, "202312345", "1.5"],
        ["W-REG", "Add", 1, "202499999", "0.75"],
    ]
    assert n(workspace, "batches") == 3
    assert rows(workspace, "SELECT state FROM claims WHERE claim_id = 'W-REG'")["state"].tolist() == ["submitted"]


def test_corrections_revocations_and_a_fixed_rejection(run_flow, workspace):
    mappings = write_map(workspace / "map.csv")
    base = {cid: claim(**{"Claim ID": cid}) for cid in ("C-CRED", "C-DATE", "C-NAME", "C-REV", "C-ZERO", "C-SAME")}
    broken = claim(**{"Claim ID": "X-NPI", "NPI": "1234567890", "License Number": ""})
    first = run_flow(write_export(workspace / "week1.csv", [*base.values(), broken]), mappings=mappings)
    assert (first["counts"]["submitted"], first["counts"]["rejected"]) == (6, 1)
    assert first["reasons"]["rejected"] == {"INVALID_NPI": 1}
    sent_first = rows(workspace, "SELECT * FROM sent_rows").set_index("claim_id")

    changed = [
        {**base["C-CRED"], "Credits": "2"},
        {**base["C-DATE"], "Completion Date": "2026-10-05"},
        {**base["C-NAME"], "Last Name": "Renamedwell"},
        {**base["C-REV"], "Claim Status": "Revoked"},
        {**base["C-ZERO"], "Credits": "0"},
        base["C-SAME"],
        {**broken, "NPI": VALID_NPI},
    ]
    second = run_flow(write_export(workspace / "week2.csv", changed), mappings=mappings)
    assert second["status"] == "succeeded", second["error"]
    counts = second["counts"]
    assert (counts["corrected"], counts["revoked"], counts["unchanged"], counts["submitted"]) == (3, 2, 1, 1)
    assert counts["rejected"] == counts["delayed"] == 0
    outcomes = rows(
        workspace, f"SELECT claim_id, outcome, reason FROM run_outcomes WHERE run_id = '{second['run_id']}'"
    )
    assert by_claim(outcomes) == {
        "C-CRED": "corrected",
        "C-DATE": "corrected",
        "C-NAME": "corrected",
        "C-REV": "revoked",
        "C-ZERO": "revoked",
        "C-SAME": "unchanged",
        "X-NPI": "submitted",
    }
    reasons = dict(zip(outcomes["claim_id"], outcomes["reason"], strict=True))
    assert reasons["C-CRED"] == "VALUES_CHANGED" and reasons["C-REV"] == "REVOKED_AFTER_SENT"

    [batch] = rows(workspace, f"SELECT * FROM batches WHERE run_id = '{second['run_id']}'").to_dict("records")
    assert (batch["rows"], batch["adds"], batch["deletes"]) == (9, 4, 5)
    sent = rows(workspace, f"SELECT * FROM sent_rows WHERE batch_id = '{batch['batch_id']}' ORDER BY row_no")
    assert sent["action"].tolist() == ["Delete"] * 5 + ["Add"] * 4  # every Delete before any Add
    deletes = sent[sent["action"] == "Delete"].set_index("claim_id")
    assert sorted(deletes.index) == ["C-CRED", "C-DATE", "C-NAME", "C-REV", "C-ZERO"]
    for cid in deletes.index:  # exactly the values sent before, and the version they were sent under
        assert deletes.loc[cid, VALUES].tolist() == sent_first.loc[cid, VALUES].tolist(), cid
        assert deletes.loc[cid, "version"] == 1
    adds = sent[sent["action"] == "Add"].set_index("claim_id")
    assert sorted(adds.index) == ["C-CRED", "C-DATE", "C-NAME", "X-NPI"]
    assert adds["version"].to_dict() == {"C-CRED": 2, "C-DATE": 2, "C-NAME": 2, "X-NPI": 1}
    assert adds.loc["C-CRED", "credits"] == "2" and adds.loc["C-DATE", "completion_date"] == "10/05/2026"
    assert adds.loc["C-NAME", "last_name"] == "Renamedwell"
    for cid in ("C-CRED", "C-DATE", "C-NAME"):  # only the changed value differs from what was sent before
        differs = [f for f in VALUES if adds.loc[cid, f] != sent_first.loc[cid, f] and not pd.isna(adds.loc[cid, f])]
        assert len(differs) == 1, (cid, differs)
    claims = rows(workspace, "SELECT claim_id, state, sent_version, live FROM claims").set_index("claim_id")
    assert claims.loc["C-CRED"].tolist() == ["corrected", 2, 1]
    assert claims.loc["C-REV"].tolist() == ["revoked", 1, 0] and claims.loc["C-ZERO"].tolist() == ["revoked", 1, 0]
    assert claims.loc["X-NPI"].tolist() == ["submitted", 1, 1]

    # The same export again: nothing new (the revoked stay revoked, nothing is deleted twice).
    week3 = write_export(workspace / "week3.csv", changed)
    week3.write_bytes(week3.read_bytes() + b"\n")  # the same claims in a new file (another checksum)
    third = run_flow(week3, mappings=mappings)
    assert third["counts"]["unchanged"] == 5 and third["submission_files"] == []
    assert third["counts"]["rejected"] == 2  # revoked claims the registry no longer holds: CLAIM_REVOKED
    assert n(workspace, "sent_rows") == 6 + 9
    sent_all = rows(workspace, "SELECT claim_id, version, action FROM sent_rows")
    assert not sent_all.duplicated().any()


def test_same_export_twice_is_skipped_says_so_and_leaves_the_file_alone(run_flow, workspace, caplog):
    export = write_export(workspace / "week.csv", [claim(**{"Claim ID": f"T-{i}"}) for i in range(4)])
    mappings = write_map(workspace / "map.csv")
    first = run_flow(export, mappings=mappings)
    [registry] = [Path(p) for p in first["submission_files"]]
    before = registry.read_bytes()
    caplog.set_level(logging.INFO)
    again = run_flow(export, mappings=mappings)
    assert again["status"] == "succeeded"
    assert again["counts"]["input_rows"] == 0 and again["submission_files"] == []
    note = f"skipped: already ingested by run {first['run_id']}"
    assert any(note in record.getMessage() for record in caplog.records), "the skip is logged"
    stored = rows(workspace, f"SELECT note FROM run_files WHERE run_id = '{again['run_id']}' AND role = 'export'")
    assert stored["note"].tolist() == [note]
    assert sorted(p.name for p in (workspace / "outbox").iterdir()) == [registry.name]
    assert registry.read_bytes() == before
    assert (n(workspace, "batches"), n(workspace, "sent_rows"), n(workspace, "ingested_exports")) == (1, 4, 1)
    assert n(workspace, "run_outcomes", f"WHERE run_id = '{again['run_id']}'") == 0

    # The file regenerates from the ledger alone, byte for byte, with the stored checksum.
    [batch] = rows(workspace, "SELECT batch_id, sha256, status FROM batches").to_dict("records")
    path, sha = rebuild_batch_file(ledger(workspace), batch["batch_id"], workspace / "rebuilt")
    assert path.read_bytes() == before and sha == batch["sha256"] and batch["status"] == "written"


class LoaderDied(RuntimeError):
    pass


def test_a_loader_failing_after_n_rows_commits_nothing_and_the_rerun_sends_once(run_flow, workspace, monkeypatch):
    from load.ledger import bulk

    export = write_export(workspace / "week.csv", [claim(**{"Claim ID": f"N-{i}"}) for i in range(6)])
    mappings = write_map(workspace / "map.csv")
    real_insert = bulk.insert_frame

    def insert_then_die(conn, table, frame, constants=None):
        if table.name == "sent_rows":
            real_insert(conn, table, frame.iloc[:3], constants)
            raise LoaderDied("the loader died after 3 rows")
        real_insert(conn, table, frame, constants)

    monkeypatch.setattr(bulk, "insert_frame", insert_then_die)
    failed = run_flow(export, mappings=mappings)
    assert failed["status"] == "failed" and failed["submission_files"] == []
    for table in ("claims", "batches", "sent_rows", "run_outcomes", "ingested_exports"):
        assert n(workspace, table) == 0, table
    assert rows(workspace, "SELECT status FROM runs")["status"].tolist() == ["failed"]
    assert list((workspace / "outbox").iterdir()) == []

    monkeypatch.setattr(bulk, "insert_frame", real_insert)
    rerun = run_flow(export, mappings=mappings)
    assert rerun["status"] == "succeeded" and rerun["counts"]["submitted"] == 6
    sent = rows(workspace, "SELECT claim_id, version, action FROM sent_rows")
    assert sorted(sent["claim_id"]) == [f"N-{i}" for i in range(6)] and not sent.duplicated().any()
    assert n(workspace, "batches") == 1


# --- faults and races in other processes -------------------------------------------------------

FAULTY_RUN = r'''
"""Run the credit-reporting flow once, with a fault: hang or die at a chosen point."""
import os, signal, sys, time
from pathlib import Path

import load.ledger.bulk as bulk
import flows.credit_reporting as flow_module

mode, marker, export = sys.argv[1:4]
real_insert = bulk.insert_frame


def insert_then_wait(conn, table, frame, constants=None):
    real_insert(conn, table, frame, constants)
    if table.name == "sent_rows":  # inside commit_load's transaction, its rows written
        Path(marker).write_text(str(os.getpid()))
        release = Path(marker + ".release")
        deadline = time.monotonic() + 300
        while not release.exists() and time.monotonic() < deadline:
            time.sleep(0.1)


def die(*args, **kwargs):
    Path(marker).write_text(str(os.getpid()))
    os.kill(os.getpid(), signal.SIGKILL)


if mode == "wait-in-load":
    bulk.insert_frame = insert_then_wait
elif mode == "die-before-file":
    flow_module.publish_drafts = die  # after the load committed, before the file takes its name
state = flow_module.credit_reporting(exports=[export], as_of="2026-11-26", return_state=True)
print(flow_module.run_summary(state)["status"])
'''


@pytest.fixture
def subprocess_env(prefect_harness, workspace, monkeypatch) -> dict:
    """Environment for a flow in another process: the session's Prefect server, this workspace."""
    from prefect.settings import PREFECT_API_URL

    monkeypatch.setenv("CME_RELAY_MAPPINGS", str(write_map(workspace / "map.csv")))
    return {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "PREFECT_LOGGING_LEVEL": "ERROR"}


def _start_faulty(workspace: Path, env: dict, mode: str, export: Path) -> tuple[subprocess.Popen, Path]:
    script = workspace / "faulty_run.py"
    script.write_text(FAULTY_RUN)
    marker = workspace / f"{mode}.marker"
    proc = subprocess.Popen(
        [sys.executable, str(script), mode, str(marker), str(export)],
        cwd=workspace,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc, marker


def _wait_for(marker: Path, proc: subprocess.Popen, seconds: float = 240) -> None:
    deadline = time.monotonic() + seconds
    while not marker.exists():
        if proc.poll() is not None:
            raise AssertionError(f"the run ended before reaching the fault point: {proc.stderr.read()[-3000:]}")
        assert time.monotonic() < deadline, "the run never reached the fault point"
        time.sleep(0.1)


def test_a_run_killed_in_the_middle_of_its_load_then_rerun(run_flow, workspace, subprocess_env):
    export = write_export(workspace / "week.csv", [claim(**{"Claim ID": f"K-{i}"}) for i in range(8)])
    proc, marker = _start_faulty(workspace, subprocess_env, "wait-in-load", export)
    _wait_for(marker, proc)
    assert n(workspace, "sent_rows") == 0  # written, not committed
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)  # reaped: its pid is gone, so its lock is stale
    killed = rows(workspace, "SELECT run_id, status FROM runs").to_dict("records")
    assert [r["status"] for r in killed] == ["running"]
    assert rows(workspace, "SELECT run_id FROM run_lock")["run_id"].tolist() == [killed[0]["run_id"]]
    for table in ("claims", "batches", "sent_rows", "run_outcomes", "ingested_exports"):
        assert n(workspace, table) == 0, table

    rerun = run_flow(export)
    assert rerun["status"] == "succeeded", rerun["error"]
    assert rerun["counts"]["submitted"] == 8
    runs = rows(workspace, "SELECT run_id, status, error FROM runs").set_index("run_id")
    assert runs.loc[killed[0]["run_id"], "status"] == "failed"
    assert rerun["run_id"] in runs.loc[killed[0]["run_id"], "error"]
    assert rows(workspace, "SELECT run_id FROM run_lock")["run_id"].isna().all()  # released by the rerun
    sent = rows(workspace, "SELECT claim_id, version, action FROM sent_rows")
    assert len(sent) == 8 and not sent.duplicated().any()
    assert n(workspace, "batches") == 1 and n(workspace, "claims") == 8


def test_killed_after_the_load_committed_the_next_run_writes_the_file(run_flow, workspace, subprocess_env):
    export = write_export(workspace / "week.csv", [claim(**{"Claim ID": f"P-{i}"}) for i in range(5)])
    proc, marker = _start_faulty(workspace, subprocess_env, "die-before-file", export)
    proc.wait(300)
    assert proc.returncode == -signal.SIGKILL and marker.exists(), proc.stderr.read()[-3000:]
    [batch] = rows(workspace, "SELECT * FROM batches").to_dict("records")
    assert batch["status"] == "committed" and batch["sha256"] is None
    # Only the hidden draft, written beside the load: nothing under the batch's name.
    [draft] = (workspace / "outbox").iterdir()
    assert draft.name.startswith(f".{batch['file_name']}.") and draft.suffix == ".tmp"

    # The same export again: already ingested, so skipped; the pending file is written from the ledger.
    nxt = run_flow(export)
    assert nxt["status"] == "succeeded", nxt["error"]
    assert nxt["counts"]["input_rows"] == 0 and nxt["submission_files"] == []
    [batch] = rows(workspace, "SELECT * FROM batches").to_dict("records")
    assert batch["status"] == "written"
    written = workspace / "outbox" / batch["file_name"]
    assert list((workspace / "outbox").iterdir()) == [written]  # the dead run's draft was swept
    path, sha = rebuild_batch_file(ledger(workspace), batch["batch_id"], workspace / "rebuilt")
    assert written.read_bytes() == path.read_bytes() and sha == batch["sha256"]
    recorded = rows(
        workspace,
        f"SELECT file_name, sha256, note FROM run_files WHERE run_id = '{nxt['run_id']}' AND role = 'registry'",
    ).to_dict("records")
    assert recorded == [{"file_name": batch["file_name"], "sha256": sha, "note": "recovered: written from the ledger"}]
    assert (n(workspace, "sent_rows"), n(workspace, "batches")) == (5, 1)
    assert rows(workspace, "SELECT status FROM runs ORDER BY started_at")["status"].tolist() == ["failed", "succeeded"]

    # And the window once more: nothing to do, the file untouched.
    before = written.read_bytes()
    last = run_flow(export)
    assert last["counts"]["input_rows"] == 0 and last["submission_files"] == []
    assert written.read_bytes() == before and (n(workspace, "sent_rows"), n(workspace, "batches")) == (5, 1)


def _cli_run(workspace: Path, env: dict, export: Path, wait: float) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "run", "--export", str(export), "--as-of", "2026-11-26", "--json"],
        cwd=workspace,
        env={**env, "CME_RELAY_LOCK_WAIT_SECONDS": str(wait)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_second_run_waits_or_exits_with_a_clear_message(workspace, subprocess_env):
    export = write_export(workspace / "week.csv", [claim(**{"Claim ID": f"L-{i}"}) for i in range(7)])
    holder, marker = _start_faulty(workspace, subprocess_env, "wait-in-load", export)
    _wait_for(marker, holder)  # the first run holds the lock, in the middle of its load
    impatient = _cli_run(workspace, subprocess_env, export, wait=0)
    patient = _cli_run(workspace, subprocess_env, export, wait=240)
    out, err = impatient.communicate(timeout=300)
    assert impatient.returncode == 1, err[-3000:]
    assert out.lstrip().startswith("{"), (out[-2000:], err[-3000:])
    refused = json.loads(out)
    assert refused["status"] == "failed"
    assert "another run" in refused["error"] and "holds the run lock" in refused["error"]
    assert "Traceback" not in err
    assert patient.poll() is None  # still waiting for the lock
    Path(str(marker) + ".release").touch()
    assert holder.wait(300) == 0, holder.stderr.read()[-3000:]
    out, err = patient.communicate(timeout=300)
    assert patient.returncode == 0, err[-3000:]
    waited = json.loads(out)
    assert waited["status"] == "succeeded" and waited["counts"]["input_rows"] == 0  # the export was ingested
    assert n(workspace, "batches") == 1
    sent = rows(workspace, "SELECT claim_id, version, action FROM sent_rows")
    assert len(sent) == 7 and not sent.duplicated().any()
    # The refused run did nothing, not even a run record: the ledger shows the two that ran.
    assert sorted(rows(workspace, "SELECT status FROM runs")["status"]) == ["succeeded", "succeeded"]


def test_two_cli_runs_started_at_once_send_once(workspace, subprocess_env):
    export = write_export(workspace / "week.csv", [claim(**{"Claim ID": f"R-{i}"}) for i in range(12)])
    racers = [_cli_run(workspace, subprocess_env, export, wait=0) for _ in range(2)]
    results = [(r.wait(300), *r.communicate()) for r in racers]
    summaries = [json.loads(out) for _, out, _ in results]
    for (code, _, err), summary in zip(results, summaries, strict=True):
        assert "Traceback" not in err
        if code == 1:  # lost the race for the lock
            assert "holds the run lock" in summary["error"]
        else:
            assert code == 0 and summary["status"] == "succeeded"
    assert sum(s["counts"]["submitted"] for s in summaries) == 12
    assert n(workspace, "batches") == 1
    sent = rows(workspace, "SELECT claim_id, version, action FROM sent_rows")
    assert sorted(sent["claim_id"]) == sorted(f"R-{i}" for i in range(12)) and not sent.duplicated().any()
