"""commit_load, state reading and upsert semantics, on SQLite and PostgreSQL: row by row."""

from __future__ import annotations

import pandas as pd
import pytest

from load.errors import AlreadySentError
from load.ledger import bulk
from load.ledger.state import read_ledger_view
from load.ledger.write import BatchPlan
from schemas.registry_row import REGISTRY_FIELDS
from tests.factories import MAP_ROWS, claim
from tests.load.ledger.pipeline import commit, count, prepare_run, run_once, table

LEDGER_TABLES = ("claims", "batches", "sent_rows", "run_outcomes", "ingested_exports")


def _mixed_rows() -> list[dict]:
    return [
        claim(**{"Claim ID": "S-1", "Credits": "1"}),
        claim(**{"Claim ID": "S-2", "Last Name": "O'Hara, Jr.", "Activity ID": "ACT-2"}),
        claim(**{"Claim ID": "S-3", "Credits": "0.25"}),
        claim(**{"Claim ID": "D-1", "Activity ID": "ACT-NOID"}),
        claim(**{"Claim ID": "R-1", "Completion Date": "2023-06-30"}),
    ]


def test_one_load_writes_every_table_row_by_row(engine, tmp_path):
    run = run_once(engine, tmp_path, _mixed_rows())

    stored = table(engine, "claims").set_index("claim_id").sort_index()
    assert stored["state"].to_dict() == {
        "D-1": "delayed",
        "R-1": "rejected",
        "S-1": "submitted",
        "S-2": "submitted",
        "S-3": "submitted",
    }
    assert stored.loc["D-1", "reason"] == "ACTIVITY_NOT_REGISTERED"
    assert stored.loc["R-1", "reason"] == "EARNED_BEFORE_CUTOFF"
    assert stored["sent_version"].to_dict() == {"D-1": 0, "R-1": 0, "S-1": 1, "S-2": 1, "S-3": 1}
    assert stored["live"].astype(bool).to_dict() == {"D-1": False, "R-1": False, "S-1": True, "S-2": True, "S-3": True}
    assert stored.loc["S-2", "last_name"] == "O'Hara, Jr."
    assert stored["delayed_since"].notna().to_dict() == {
        "D-1": True,
        "R-1": False,
        "S-1": False,
        "S-2": False,
        "S-3": False,
    }

    [plan] = run.plans
    batch = table(engine, "batches").iloc[0]
    assert (batch["batch_id"], batch["rows"], batch["adds"], batch["deletes"], batch["status"]) == (
        plan.batch_id,
        3,
        3,
        0,
        "committed",
    )
    sent = table(engine, "sent_rows").sort_values("row_no").reset_index(drop=True)
    assert sent["row_no"].tolist() == [1, 2, 3]
    expected = plan.rows[["claim_id", *REGISTRY_FIELDS]].astype(object).where(plan.rows.notna(), None)
    got = sent[["claim_id", *REGISTRY_FIELDS]].astype(object).where(sent[["claim_id", *REGISTRY_FIELDS]].notna(), None)
    assert got.to_dict("records") == expected.to_dict("records")
    assert sent["version"].tolist() == [1, 1, 1]

    outcomes = table(engine, "run_outcomes").sort_values("seq")
    assert outcomes["claim_id"].tolist() == ["S-1", "S-2", "S-3", "D-1", "R-1"]
    assert outcomes["outcome"].tolist() == ["submitted"] * 3 + ["delayed", "rejected"]
    assert not outcomes["carried"].astype(bool).any()
    assert outcomes["credits"].tolist()[:3] == [1.0, 1.5, 0.25]
    exports = table(engine, "ingested_exports")
    assert exports["sha256"].tolist() == run.files.loc[run.files["role"] == "export", "sha256"].tolist()
    assert count(engine, "run_files") == 2


def test_ledger_view_reads_back_what_was_loaded(engine, tmp_path):
    run_once(engine, tmp_path, _mixed_rows())
    view = read_ledger_view(engine)
    assert view.pending["claim_id"].tolist() == ["D-1"]
    assert view.pending.loc[0, "portal_activity_id"] == "ACT-NOID"
    assert view.pending.loc[0, "source_line"] == 5
    sent = view.sent.sort_values("claim_id").reset_index(drop=True)
    assert sent["claim_id"].tolist() == ["S-1", "S-2", "S-3"]
    assert sent["credits_value"].tolist() == [1.0, 1.5, 0.25]
    assert sent["version"].tolist() == [1, 1, 1] and sent["live"].all()
    assert sent["completion"].tolist() == [pd.Timestamp("2026-10-01")] * 3
    assert sorted(view.last_sent["claim_id"]) == ["S-1", "S-2", "S-3"]
    assert set(view.last_sent["action"]) == {"Add"}


def test_upsert_keeps_history_and_takes_the_latest_data(engine, tmp_path):
    first = run_once(engine, tmp_path, [claim(**{"Claim ID": "D-1", "Activity ID": "ACT-NOID", "Credits": "1"})])
    before = table(engine, "claims").iloc[0]
    # Still delayed, with new data: the data changes, the waiting history does not.
    second = run_once(engine, tmp_path, [claim(**{"Claim ID": "D-1", "Activity ID": "ACT-NOID", "Credits": "2"})])
    middle = table(engine, "claims").iloc[0]
    assert middle["credits"] == "2"
    assert (middle["first_seen_run"], middle["last_run_id"]) == (first.run_id, second.run_id)
    assert middle["delayed_since"] == before["delayed_since"]
    assert middle["state_changed_at"] == before["state_changed_at"]
    # Registered now: the waiting claim (not in this export) is sent with its latest data.
    registered = [
        {**r, "ACCME Activity ID": "202499999"} if r["Portal Activity ID"] == "ACT-NOID" else r for r in MAP_ROWS
    ]
    third = run_once(engine, tmp_path, [], registered)
    after = table(engine, "claims").iloc[0]
    assert (after["state"], after["reason"], after["sent_version"], bool(after["live"])) == ("submitted", None, 1, True)
    assert after["delayed_since"] is None or pd.isna(after["delayed_since"])
    assert after["first_seen_run"] == first.run_id and after["last_run_id"] == third.run_id
    assert after["state_changed_at"] != before["state_changed_at"]
    sent = table(engine, "sent_rows")
    assert sent[["claim_id", "action", "accme_activity_id", "credits"]].values.tolist() == [
        ["D-1", "Add", "202499999", "2"]
    ]
    carried = table(engine, "run_outcomes", f"WHERE run_id = '{third.run_id}'")
    assert carried[["claim_id", "outcome"]].values.tolist() == [["D-1", "submitted"]]
    assert carried["carried"].astype(bool).tolist() == [True]


def _ledger_counts(engine) -> dict[str, int]:
    return {name: count(engine, name) for name in LEDGER_TABLES}


def test_the_unique_keys_alone_refuse_a_second_send(engine, tmp_path):
    rows = [claim(**{"Claim ID": f"U-{i}"}) for i in range(3)]
    run = prepare_run(engine, tmp_path, rows)
    commit(engine, run)
    once = _ledger_counts(engine)
    assert once == {"claims": 3, "batches": 1, "sent_rows": 3, "run_outcomes": 3, "ingested_exports": 1}

    # The very same plan again, bypassing the run lock (as a racing process would).
    rerun = prepare_run(engine, tmp_path, rows)  # a second run, recorded; it loads the first one's plan
    same = type(run)(rerun.run_id, rerun.now, run.judged, run.plans, run.files)
    with pytest.raises(AlreadySentError, match="nothing from this run was committed"):
        commit(engine, same)
    assert _ledger_counts(engine) == once

    # The same rows under a new batch id and no export to collide on: sent_rows' natural key refuses.
    renamed = [BatchPlan(f"OTHER-{p.part:02d}", p.part, f"OTHER-{p.part:02d}.xlsx", p.rows) for p in run.plans]
    no_exports = run.files[run.files["role"] != "export"]
    racer = type(run)(rerun.run_id, rerun.now, run.judged, renamed, no_exports)
    with pytest.raises(AlreadySentError):
        commit(engine, racer)
    assert _ledger_counts(engine) == once
    assert count(engine, "run_files", f"WHERE run_id = '{rerun.run_id}'") == 0


@pytest.mark.parametrize("fail_table,after_rows", [("sent_rows", 2), ("run_outcomes", 1), ("claims", 2)])
def test_a_loader_failing_after_n_rows_commits_nothing(engine, tmp_path, monkeypatch, fail_table, after_rows):
    rows = [claim(**{"Claim ID": f"F-{i}"}) for i in range(4)] + [claim(**{"Claim ID": "F-D", "Activity ID": "X"})]
    real_insert, real_upsert = bulk.insert_frame, bulk.upsert_frame

    class LoaderDied(RuntimeError):
        pass

    def insert(conn, table_, frame, constants=None):
        real_insert(conn, table_, frame.iloc[:after_rows] if table_.name == fail_table else frame, constants)
        if table_.name == fail_table:
            raise LoaderDied(f"loader died after {after_rows} rows of {fail_table}")

    def upsert(conn, table_, frame, key, update_sql, constants=None):
        kept = frame.iloc[:after_rows] if table_.name == fail_table else frame
        real_upsert(conn, table_, kept, key, update_sql, constants)
        if table_.name == fail_table:
            raise LoaderDied(f"loader died after {after_rows} rows of {fail_table}")

    monkeypatch.setattr(bulk, "insert_frame", insert)
    monkeypatch.setattr(bulk, "upsert_frame", upsert)
    failed = prepare_run(engine, tmp_path, rows)
    with pytest.raises(LoaderDied):
        commit(engine, failed)
    assert _ledger_counts(engine) == dict.fromkeys(LEDGER_TABLES, 0)
    assert count(engine, "run_files") == 0

    monkeypatch.setattr(bulk, "insert_frame", real_insert)
    monkeypatch.setattr(bulk, "upsert_frame", real_upsert)
    rerun = prepare_run(engine, tmp_path, rows)
    commit(engine, rerun)
    assert _ledger_counts(engine) == {
        "claims": 5,
        "batches": 1,
        "sent_rows": 4,
        "run_outcomes": 5,
        "ingested_exports": 1,
    }
    sent = table(engine, "sent_rows")
    assert sorted(sent["claim_id"]) == ["F-0", "F-1", "F-2", "F-3"]
    assert not sent.duplicated(["claim_id", "version", "action"]).any()
    assert set(table(engine, "run_outcomes")["run_id"]) == {rerun.run_id}
