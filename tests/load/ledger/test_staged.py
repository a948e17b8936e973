"""A run loaded in partitions: registry rows staged in the load's transaction and numbered by SQL
must land exactly as the whole run's `order_batch` + `plan_batches` + `write_batches` land them;
and the ledger reads a partition needs (its waiting claims, the ledger's learners) are narrowed."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from extract.inbox import describe_inputs
from load.errors import AlreadySentError
from load.ledger.staged import StagedRegistryRows
from load.ledger.state import ledger_learners, ledger_view, waiting_claims
from load.ledger.write import plan_batches, refused_as_already_sent, write_batches, write_input_files
from schemas.registry_row import REGISTRY_FIELDS
from tests.factories import VALID_NPI, claim, write_map
from tests.load.ledger.pipeline import record_run, run_once, table
from transform.registry_rows import order_batch

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
MAX_ROWS = 3
# Claim ids whose order differs between byte order and a locale's (case, accents, digits as text).
CLAIM_IDS = ["C-10", "C-9", "c-1", "C-1", "Z-1", "É-1", "a-1", "B-2", "B-10", "0-7", "_-1", "C-2"]
ACTIVITIES = ["202412346", "202312345", "202512347", "20241234"]


def _registry_rows() -> pd.DataFrame:
    """Rows as `registry_batch` hands them over: Adds of new claims, and for corrected claims the
    Delete of the version sent before and the Add of the new one; enough for more than 10 batches."""
    rows = []
    for i, claim_id in enumerate(CLAIM_IDS):
        for j, activity in enumerate(ACTIVITIES[: 1 + i % 3]):
            cid = f"{claim_id}/{j}"
            corrected = (i + j) % 3 == 0
            if corrected:
                rows.append(_row(cid, 1, "Delete", activity, credits="1"))
            rows.append(_row(cid, 2 if corrected else 1, "Add", activity, credits=f"{1 + i % 3}.5"))
    frame = pd.DataFrame(rows)
    frame = frame.astype({c: "string" for c in ["claim_id", *REGISTRY_FIELDS]}).astype({"version": "int64"})
    assert len(frame) > 10 * MAX_ROWS and set(frame["action"]) == {"Add", "Delete"}
    return frame


def _row(claim_id: str, version: int, action: str, activity: str | None, credits: str) -> dict:
    return {
        "claim_id": claim_id,
        "version": version,
        "action": action,
        "accme_activity_id": activity,
        "completion_date": "10/01/2026",
        "first_name": "Avery",
        "last_name": "Testwell",
        "birth_mmdd": "04/12",
        "license_state": "California",
        "license_or_npi": VALID_NPI,
        "credits": credits,
        "board": "ABIM" if version == 2 else None,
        "board_id": "123456" if version == 2 else None,
        "board_credits": "1" if version == 2 else None,
        "moc_credit_type": None,
        "moc_type_credits": None,
    }


def _shuffled_calls(rows: pd.DataFrame, seed: int) -> list[pd.DataFrame]:
    """The rows in another order, split unevenly over three partitions (index kept as a
    partition's would be: not 0..n-1)."""
    order = np.random.default_rng(seed).permutation(len(rows))
    shuffled = rows.iloc[order]
    cuts = [0, 5, 5 + len(rows) // 2, len(rows)]
    return [shuffled.iloc[a:b] for a, b in zip(cuts, cuts[1:], strict=False)]


def _written(conn: sa.Connection, run_id: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    batch_rows = pd.read_sql(
        sa.text("SELECT * FROM batches WHERE run_id = :run ORDER BY part"), conn, params={"run": run_id}
    )
    sent = pd.read_sql(
        sa.text(
            "SELECT s.* FROM sent_rows s JOIN batches b ON b.batch_id = s.batch_id "
            "WHERE b.run_id = :run ORDER BY b.part, s.row_no"
        ),
        conn,
        params={"run": run_id},
    )
    return batch_rows, sent


def _temporary_tables(conn: sa.Connection) -> set[str]:
    if conn.dialect.name == "sqlite":
        query = "SELECT name FROM sqlite_temp_master WHERE type = 'table'"
    else:
        query = "SELECT relname FROM pg_class WHERE relpersistence = 't' AND relkind = 'r' AND pg_table_is_visible(oid)"
    return set(conn.exec_driver_sql(query).scalars())


# --- StagedRegistryRows ------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2])
def test_staged_rows_land_as_the_whole_runs_batches(engine, seed):
    rows = _registry_rows()
    run_id, stem = f"run-{seed}", f"PARS-20261126-{seed}"
    record_run(engine, run_id)
    # What the whole run writes, in a transaction rolled back: the reference, on the same database.
    plans = plan_batches(order_batch(rows), stem=stem, max_rows=MAX_ROWS)
    with engine.connect() as conn:
        write_batches(conn, run_id, NOW, plans)
        expected_batches, expected_sent = _written(conn, run_id)
        conn.rollback()
    assert len(plans) == len(expected_batches) == 11

    with engine.begin() as conn:
        staged = StagedRegistryRows(conn)
        for call in _shuffled_calls(rows, seed):
            staged.add(call)
        assert staged.into_batches(run_id=run_id, now=NOW, stem=stem, max_rows=MAX_ROWS) == len(plans)
        assert not _temporary_tables(conn) & {"staged_registry_rows", "numbered_registry_rows"}
    with engine.connect() as conn:
        got_batches, got_sent = _written(conn, run_id)

    pd.testing.assert_frame_equal(got_batches, expected_batches)
    pd.testing.assert_frame_equal(got_sent, expected_sent)
    # The reference itself, spelled out: part numbers past 9, three rows a batch, Deletes first.
    assert got_batches["batch_id"].tolist() == [f"{stem}-{p:02d}" for p in range(1, 12)]
    assert got_batches["file_name"].tolist() == [f"{stem}-{p:02d}.xlsx" for p in range(1, 12)]
    assert got_batches["rows"].tolist() == [3] * 10 + [2]
    assert got_batches["adds"].sum() == (rows["action"] == "Add").sum()
    assert got_batches["deletes"].sum() == (rows["action"] == "Delete").sum()
    assert got_sent["row_no"].tolist() == [1, 2, 3] * 10 + [1, 2]
    actions = got_sent["action"].tolist()
    assert actions == sorted(actions, key=lambda a: a == "Add")
    in_order = order_batch(rows)
    assert got_sent["claim_id"].tolist() == in_order["claim_id"].tolist()
    assert got_sent["accme_activity_id"].tolist() == in_order["accme_activity_id"].tolist()


def test_rows_without_an_activity_come_last_among_their_action(engine):
    rows = _registry_rows()
    rows.loc[[0, 7, 20], "accme_activity_id"] = pd.NA
    record_run(engine, "run-n")
    with engine.begin() as conn:
        staged = StagedRegistryRows(conn)
        for call in _shuffled_calls(rows, 3):
            staged.add(call)
        staged.into_batches(run_id="run-n", now=NOW, stem="PARS-N", max_rows=MAX_ROWS)
        _, got = _written(conn, "run-n")
    expected = order_batch(rows)
    assert got["claim_id"].tolist() == expected["claim_id"].tolist()


def test_a_staging_table_per_load_and_nothing_staged_makes_no_batch(engine):
    record_run(engine, "run-e")
    with engine.begin() as conn:
        for _ in range(2):  # the table is dropped: the same connection can stage again
            staged = StagedRegistryRows(conn)
            staged.add(_registry_rows().iloc[0:0])
            assert staged.into_batches(run_id="run-e", now=NOW, stem="PARS-E", max_rows=MAX_ROWS) == 0
        assert not _temporary_tables(conn) & {"staged_registry_rows", "numbered_registry_rows"}
    assert table(engine, "batches").empty and table(engine, "sent_rows").empty


def _input_files(tmp_path) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    return describe_inputs([write_map(tmp_path / "map.csv")], "mappings").assign(rows=3, note=None)


def test_a_row_already_sent_is_refused_when_the_batches_are_written(engine, tmp_path):
    rows = _registry_rows()
    record_run(engine, "run-1")
    with engine.begin() as conn:  # an earlier run sent the first Add
        first_add = rows[rows["action"] == "Add"].iloc[[0]]
        write_batches(conn, "run-1", NOW, plan_batches(first_add, stem="PARS-OLD", max_rows=MAX_ROWS))
    record_run(engine, "run-2")
    for attempt in range(2):  # the refused load leaves nothing that stops the next one
        # As the flow loads: the run's files first, then the staged rows, in one transaction.
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            write_input_files(conn, "run-2", _input_files(tmp_path))
            staged = StagedRegistryRows(conn)
            for call in _shuffled_calls(rows, 4 + attempt):
                staged.add(call)  # the staging table has no key: nothing refused yet
            staged.into_batches(run_id="run-2", now=NOW, stem="PARS-NEW", max_rows=MAX_ROWS)
    with pytest.raises(AlreadySentError), refused_as_already_sent(), engine.begin() as conn:
        write_input_files(conn, "run-2", _input_files(tmp_path))
        staged = StagedRegistryRows(conn)
        staged.add(rows)
        staged.into_batches(run_id="run-2", now=NOW, stem="PARS-NEW", max_rows=MAX_ROWS)
    assert table(engine, "batches")["run_id"].tolist() == ["run-1"]
    assert len(table(engine, "sent_rows")) == 1 and table(engine, "run_files").empty


def test_a_failed_load_leaves_nothing_staged_for_the_next(engine):
    # Staging as the first statement of the load's transaction: on SQLite the driver runs the
    # CREATE outside the transaction, so the table can outlive the rollback on the pool's
    # connection. The next load (or a retry) must start from an empty stage all the same.
    record_run(engine, "run-f")
    with pytest.raises(RuntimeError), engine.begin() as conn:
        StagedRegistryRows(conn).add(_registry_rows())
        raise RuntimeError("the load fails after staging")
    rows = _registry_rows().iloc[:4]
    with engine.begin() as conn:  # the pool's connection, as the next load gets it
        staged = StagedRegistryRows(conn)
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM staged_registry_rows").scalar() == 0
        staged.add(rows)
        staged.into_batches(run_id="run-f", now=NOW, stem="RETRY", max_rows=10)
    assert len(table(engine, "sent_rows")) == len(rows)


# --- ledger reads of a partition -----------------------------------------------------------------


def _history(engine, tmp_path, *, revoke: bool = False) -> None:  # type: ignore[no-untyped-def]
    """Learners A, B, C each with a sent claim; A and B each with a claim waiting for its
    activity's ACCME id; R a claim rejected and never sent; V a claim sent (then revoked)."""
    run_once(
        engine,
        tmp_path,
        [
            claim(**{"Claim ID": "A-1", "Learner ID": "A"}),
            claim(**{"Claim ID": "B-1", "Learner ID": "B"}),
            claim(**{"Claim ID": "C-1", "Learner ID": "C"}),
            claim(**{"Claim ID": "W-A", "Learner ID": "A", "Activity ID": "ACT-NOID"}),
            claim(**{"Claim ID": "W-B", "Learner ID": "B", "Activity ID": "ACT-NOID"}),
            claim(**{"Claim ID": "R-1", "Learner ID": "R", "Report Consent": "N"}),
            claim(**{"Claim ID": "V-1", "Learner ID": "V"}),
        ],
    )
    if revoke:
        run_once(engine, tmp_path, [claim(**{"Claim ID": "V-1", "Learner ID": "V", "Claim Status": "Revoked"})])
    states = table(engine, "claims").set_index("claim_id")
    assert states.loc["R-1", "state"] == "rejected" and states.loc["R-1", "sent_version"] == 0
    assert states.loc["V-1", "sent_version"] > 0 and states.loc["V-1", "live"] != revoke
    assert set(states.index[states["state"] == "delayed"]) == {"W-A", "W-B"}


def _waiting(conn: sa.Connection, chunk_rows: int = 100_000) -> pd.DataFrame:
    return pd.concat(list(waiting_claims(conn, chunk_rows)), ignore_index=True)


def test_ledger_view_judges_the_given_pending_claims_only(engine, tmp_path):
    _history(engine, tmp_path)
    run_keys = pd.DataFrame({"claim_id": ["C-1", "N-1"], "learner_id": ["C", "C"]}, dtype="string")
    with engine.connect() as conn:
        chunks = list(waiting_claims(conn, chunk_rows=1))
        everything = pd.concat(chunks, ignore_index=True)
        # The waiting claims in chunks are what the view reads whole.
        assert [len(c) for c in chunks] == [1, 1]
        pd.testing.assert_frame_equal(everything, ledger_view(conn, None).pending)
        # A partition holding learner B's bucket: W-B waits in it, W-A in another partition.
        pending = everything[everything["claim_id"] == "W-B"].reset_index(drop=True)
        view = ledger_view(conn, run_keys, pending=pending)
        unnarrowed = ledger_view(conn, run_keys)
        assert not _temporary_tables(conn) & {"run_claim_keys", "run_learner_keys"}
    pd.testing.assert_frame_equal(view.pending, pending)
    # Sends of the run's claims and learners, and of the given pending claims' learners: not A's.
    assert sorted(view.sent["claim_id"]) == ["B-1", "C-1"]
    assert sorted(view.last_sent["claim_id"]) == ["C-1"]
    # Without `pending`, every waiting claim is judged, and their learners' sends read.
    assert sorted(unnarrowed.pending["claim_id"]) == ["W-A", "W-B"]
    assert sorted(unnarrowed.sent["claim_id"]) == ["A-1", "B-1", "C-1"]


def test_ledger_learners_for_sent_and_waiting_claims_only(engine, tmp_path):
    _history(engine, tmp_path, revoke=True)
    keys = pd.DataFrame(
        {
            # A claim's later rows (another key) and rows without an id are not looked up.
            "claim_id": pd.Series(["A-1", "W-B", "R-1", "V-1", "NEW-1", "A-1", None], dtype="string"),
            "key": pd.Series([5, 7, 9, 11, 13, 99, 15], dtype="int16"),
        }
    )
    with engine.connect() as conn:
        chunks = list(ledger_learners(conn, keys, chunk_rows=2))
        assert not _temporary_tables(conn) & {"run_claim_buckets"}
        again = pd.concat(list(ledger_learners(conn, keys)), ignore_index=True)
    assert [len(c) for c in chunks] == [2, 1]
    found = pd.concat(chunks, ignore_index=True).sort_values("key", ignore_index=True)
    assert found["key"].tolist() == [5, 7, 11]  # not R-1: rejected, never sent
    assert found["learner_id"].tolist() == ["A", "B", "V"]
    assert found["learner_id"].dtype == "string"
    assert sorted(again["key"]) == [5, 7, 11]


def test_ledger_learners_on_a_ledger_with_nothing_sent_or_waiting(engine, tmp_path):
    run_once(engine, tmp_path, [claim(**{"Claim ID": "R-1", "Report Consent": "N"})])
    keys = pd.DataFrame({"claim_id": pd.Series(["R-1"], dtype="string"), "key": [1]})
    with engine.connect() as conn:
        assert list(ledger_learners(conn, keys)) == []


def test_ledger_learners_leave_no_table_after_the_callers_rollback(engine, tmp_path):
    # As plan_run_partitions reads them: waiting claims, the learners, then a rollback that is to
    # drop the temporary key table. The next lookup on the pool's connection must work.
    _history(engine, tmp_path)
    keys = pd.DataFrame({"claim_id": pd.Series(["A-1"], dtype="string"), "key": [3]})
    for _ in range(2):
        with engine.connect() as conn:
            assert len(_waiting(conn)) == 2
            assert pd.concat(list(ledger_learners(conn, keys)))["learner_id"].tolist() == ["A"]
            conn.rollback()  # on SQLite the key table may survive it: the next lookup replaces it
