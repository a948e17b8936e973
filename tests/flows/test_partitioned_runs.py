"""A run streamed from disk and judged in partitions decides exactly what the whole run decides.

Each scenario runs twice through the real flow, from the same exports and the same history: in
memory, and streamed (`STREAM_ABOVE_MB=0`) in partitions of a few claims. Every ledger table and
every registry file must come out the same.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from tests.factories import MAP_ROWS, VALID_NPI, claim, write_export, write_map
from transform.partitions import learner_buckets

pytestmark = pytest.mark.flow
REGISTERED = [{**r, "ACCME Activity ID": "202499999"} if r["Portal Activity ID"] == "ACT-NOID" else r for r in MAP_ROWS]
RUN_TIMES = {"run_id", "first_seen_run", "first_seen_at", "state_changed_at", "delayed_since", "last_run_id"}
UNSTABLE = RUN_TIMES | {"created_at", "batch_id", "sha256", "id", "path", "file_name", "seq"}
TABLES = {
    "claims": ["claim_id"],
    "sent_rows": ["claim_id", "version", "action"],
    "run_outcomes": ["source_file", "source_line", "claim_id", "outcome"],
    "batches": ["part", "rows"],
}


class Ledgers:
    """Two workspaces side by side: `memory` judges whole runs, `streamed` in partitions."""

    def __init__(self, root: Path, run_flow, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
        self.root, self.run_flow, self.monkeypatch = root, run_flow, monkeypatch
        for side in ("memory", "streamed"):
            for folder in ("outbox", "reports", "inbox"):
                (root / side / folder).mkdir(parents=True)

    def use(self, side: str) -> None:
        where = self.root / side
        env = self.monkeypatch.setenv
        env("CME_RELAY_DATABASE_URL", f"sqlite:///{where / 'ledger.db'}")
        for folder in ("outbox", "reports", "inbox"):
            env(f"CME_RELAY_{folder.upper()}", str(where / folder))
        env("CME_RELAY_STREAM_ABOVE_MB", "0" if side == "streamed" else "10000")
        env("CME_RELAY_PARTITION_ROWS", "3" if side == "streamed" else "1000000")  # memory: never streams

    def run(self, *exports: Path, mappings: Path, as_of: str = "2026-11-20") -> tuple[dict, dict]:
        summaries = []
        for side in ("memory", "streamed"):
            self.use(side)
            summary = self.run_flow(*exports, mappings=mappings, as_of=as_of)
            assert summary["status"] == "succeeded", summary["error"]
            summaries.append(summary)
        return summaries[0], summaries[1]

    def table(self, side: str, name: str) -> pd.DataFrame:
        with sqlite3.connect(self.root / side / "ledger.db") as conn:
            frame = pd.read_sql(f"SELECT * FROM {name}", conn)
        if "run_id" in frame and name != "claims":  # the runs differ by id: number them in order instead
            with sqlite3.connect(self.root / side / "ledger.db") as conn:
                runs = pd.read_sql("SELECT run_id FROM runs ORDER BY started_at", conn)
            frame["run_no"] = frame["run_id"].map({r: i for i, r in enumerate(runs["run_id"])})
        if name == "sent_rows":
            frame["part"] = frame["batch_id"].str.rsplit("-", n=1).str[-1]
        keep = [c for c in frame.columns if c not in UNSTABLE]
        key = ["run_no", *TABLES[name]] if "run_no" in frame else TABLES[name]
        return frame[keep].sort_values(key).reset_index(drop=True)

    def count(self, side: str, name: str) -> int:
        with sqlite3.connect(self.root / side / "ledger.db") as conn:
            return int(conn.execute(f"SELECT COUNT(*) FROM {name}").fetchone()[0])

    def registry_files(self, side: str) -> list[list[tuple]]:
        # Named after each run's id: taken in the order they were written.
        books = sorted((self.root / side / "outbox").glob("*.xlsx"), key=lambda book: book.stat().st_mtime_ns)
        return [list(openpyxl.load_workbook(book).active.iter_rows(values_only=True)) for book in books]

    def assert_same(self) -> None:
        for name in TABLES:
            pd.testing.assert_frame_equal(self.table("memory", name), self.table("streamed", name), obj=name)
        memory, streamed = self._seq("memory"), self._seq("streamed")
        # Input rows keep their place in the run; carried claims follow them, in the order their
        # partitions are judged (the whole run takes them in the ledger's order).
        fresh = memory["carried"] == 0
        assert memory.loc[fresh, "seq"].tolist() == streamed.loc[fresh, "seq"].tolist()
        carried = memory.groupby("run_no")["seq"].apply(sorted).tolist()
        assert carried == streamed.groupby("run_no")["seq"].apply(sorted).tolist()
        assert self.registry_files("memory") == self.registry_files("streamed")

    def _seq(self, side: str) -> pd.DataFrame:
        with sqlite3.connect(self.root / side / "ledger.db") as conn:
            frame = pd.read_sql("SELECT * FROM run_outcomes", conn)
            runs = pd.read_sql("SELECT run_id FROM runs ORDER BY started_at", conn)
        frame["run_no"] = frame["run_id"].map({r: i for i, r in enumerate(runs["run_id"])})
        frame = frame.sort_values(["run_no", *TABLES["run_outcomes"]]).reset_index(drop=True)
        return frame[["run_no", "seq", "carried"]]


@pytest.fixture
def ledgers(tmp_path, run_flow, monkeypatch) -> Ledgers:  # type: ignore[no-untyped-def]
    return Ledgers(tmp_path / "sides", run_flow, monkeypatch)


def learner_pairs(count: int) -> list[tuple[str, str]]:
    """(old learner, new learner) pairs in different buckets, the old one's bucket first: judged
    apart, the old learner's partition would still count the claim that moved to the new one."""
    ids = pd.Series([f"LRN-{i:04d}" for i in range(400)], dtype="string")
    buckets = learner_buckets(ids)
    pairs: list[tuple[str, str]] = []
    used: set[int] = set()
    for i in range(len(ids)):
        for j in range(i + 1, len(ids)):
            if buckets[i] < buckets[j] and not {i, j} & used:
                pairs.append((ids[i], ids[j]))
                used |= {i, j}
                break
        if len(pairs) == count:
            return pairs
    raise AssertionError("not enough learner pairs")


def test_a_history_judged_in_partitions_matches_the_whole_run(ledgers, tmp_path):
    unregistered = write_map(tmp_path / "map.csv")
    pairs = learner_pairs(4)
    base = {
        **{
            f"S-{i}": claim(
                **{"Claim ID": f"S-{i}", "Learner ID": f"LRN-S{i % 5}", "Completion Date": f"2026-10-{i + 2:02d}"}
            )
            for i in range(12)
        },
        **{
            f"CAP-{i}": claim(**{"Claim ID": f"CAP-{i}", "Activity ID": "ACT-2", "Credits": "2", "Learner ID": old})
            for i, (old, _) in enumerate(pairs)
        },
        "C-CRED": claim(**{"Claim ID": "C-CRED", "Learner ID": "LRN-S1"}),
        "C-REV": claim(**{"Claim ID": "C-REV", "Learner ID": "LRN-S2"}),
        "W-REG": claim(**{"Claim ID": "W-REG", "Activity ID": "ACT-NOID", "Learner ID": "LRN-W1"}),
        "W-AWAY": claim(**{"Claim ID": "W-AWAY", "Activity ID": "ACT-NOID", "Learner ID": "LRN-W2"}),
        "X-NPI": claim(**{"Claim ID": "X-NPI", "NPI": "1234567890", "License Number": "", "Learner ID": "LRN-S3"}),
    }
    week1 = write_export(tmp_path / "week1.csv", list(base.values()))
    first, first_streamed = ledgers.run(week1, mappings=unregistered)
    assert first["counts"]["delayed"] == 2 and first["counts"]["rejected"] == 1
    ledgers.assert_same()

    # Week 2: the capped claims move to another learner (the old learner claims the activity
    # again), a credit correction, a revocation, a fixed NPI, a waiting claim with new data, a
    # claim restated by a later file for another learner, and one stated twice with two learners.
    moved = [{**base[f"CAP-{i}"], "Learner ID": new} for i, (_, new) in enumerate(pairs)]
    again = [
        claim(**{"Claim ID": f"AGAIN-{i}", "Activity ID": "ACT-2", "Credits": "2", "Learner ID": old})
        for i, (old, _) in enumerate(pairs)
    ]
    week2 = [
        *moved,
        *again,
        {**base["C-CRED"], "Credits": "2.5"},
        {**base["C-REV"], "Claim Status": "Revoked"},
        {**base["X-NPI"], "NPI": VALID_NPI},
        {**base["W-REG"], "Credits": "0.75"},
        claim(**{"Claim ID": "LATER", "Learner ID": pairs[0][0]}),
        claim(**{"Claim ID": "TWICE", "Learner ID": pairs[1][0]}),
        claim(**{"Claim ID": "TWICE", "Learner ID": pairs[2][1]}),
    ]
    later = [claim(**{"Claim ID": "LATER", "Learner ID": pairs[3][1]})]
    second, second_streamed = ledgers.run(
        write_export(tmp_path / "week2.csv", week2), write_export(tmp_path / "week2b.csv", later), mappings=unregistered
    )
    assert second == {
        **second_streamed,
        "run_id": second["run_id"],
        "submission_files": second["submission_files"],
        "report_files": second["report_files"],
    }
    assert second["counts"]["corrected"] == 1 and second["counts"]["revoked"] == 1
    assert second["reasons"]["rejected"].get("CONFLICTING_DUPLICATE") == 2
    assert second["counts"]["duplicate"] == 1  # LATER in week2.csv, superseded by week2b.csv
    # The moved claims free their old learners' allowance: the new claims fit.
    assert "CREDITS_EXCEED_ACTIVITY_MAX" not in second["reasons"]["rejected"]
    ledgers.assert_same()

    # Week 3, no export: staff register the activity; the waiting claims go, carried.
    third, third_streamed = ledgers.run(mappings=write_map(tmp_path / "registered.csv", REGISTERED))
    assert third["carried_over"] == third_streamed["carried_over"] == {"submitted": 2, "delayed": 0, "rejected": 0}
    ledgers.assert_same()


def test_a_failure_in_a_later_partition_commits_nothing(ledgers, tmp_path, monkeypatch):
    import flows.partitioned

    mappings = write_map(tmp_path / "map.csv")
    export = write_export(tmp_path / "week1.csv", [claim(**{"Learner ID": f"LRN-{i}"}) for i in range(20)])
    calls = []
    real = flows.partitioned.write_outcomes

    def failing_on_the_third(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 3:
            raise OSError("disk full (injected)")
        return real(*args, **kwargs)

    monkeypatch.setattr(flows.partitioned, "write_outcomes", failing_on_the_third)
    ledgers.use("streamed")
    failed = ledgers.run_flow(export, mappings=mappings)
    assert failed["status"] == "failed" and len(calls) == 3
    for table in ("claims", "sent_rows", "batches", "run_outcomes", "ingested_exports"):
        assert ledgers.count("streamed", table) == 0, table
    assert not list((tmp_path / "sides" / "streamed" / "outbox").glob("*.xlsx"))

    monkeypatch.setattr(flows.partitioned, "write_outcomes", real)
    again = ledgers.run_flow(export, mappings=mappings)
    assert again["status"] == "succeeded" and again["counts"]["submitted"] == 20
    assert ledgers.count("streamed", "sent_rows") == 20


def test_a_streamed_run_logs_no_learner_identity(ledgers, tmp_path, caplog):
    rows = [claim(**{"Learner ID": f"LRN-{i}", "Last Name": "Zyxwvutson", "First Name": "Qorvath"}) for i in range(9)]
    ledgers.use("streamed")
    with caplog.at_level(logging.DEBUG):
        summary = ledgers.run_flow(write_export(tmp_path / "week1.csv", rows), mappings=write_map(tmp_path / "m.csv"))
    assert summary["status"] == "succeeded"
    assert "partition" in caplog.text  # the streamed path ran and logged
    for identity in ("Zyxwvutson", "Qorvath", VALID_NPI, "LRN-", "A12345", "avery.testwell", "1980"):
        assert identity not in caplog.text
        assert identity not in json.dumps(summary)


def test_a_streamed_dry_run_counts_as_the_whole_run_and_writes_nothing(ledgers, tmp_path):
    rows = [claim(**{"Learner ID": f"LRN-{i % 4}", "Completion Date": f"2026-09-{i + 1:02d}"}) for i in range(12)]
    rows += [claim(**{"Learner ID": "LRN-0", "Activity ID": "ACT-NOID"}), {**rows[0], "Credits": "3"}]
    export = write_export(tmp_path / "week1.csv", rows)
    summaries = {}
    for side in ("memory", "streamed"):
        ledgers.use(side)
        summaries[side] = ledgers.run_flow(export, mappings=write_map(tmp_path / "m.csv"), dry_run=True)
        assert summaries[side]["status"] == "succeeded", summaries[side]["error"]
        assert ledgers.count(side, "claims") == ledgers.count(side, "run_outcomes") == 0
        assert not list((tmp_path / "sides" / side / "outbox").iterdir())
    drop = ("run_id", "report_files", "submission_files")
    memory, streamed = ({k: v for k, v in s.items() if k not in drop} for s in summaries.values())
    assert memory == streamed
    assert memory["counts"]["rejected"] == 2 and memory["counts"]["delayed"] == 1


def test_many_waiting_claims_stream_a_run_without_a_large_export(ledgers, tmp_path, monkeypatch, caplog):
    ledgers.use("memory")  # exports far under the streaming size...
    monkeypatch.setenv("CME_RELAY_PARTITION_ROWS", "2")  # ...but more waiting claims than a partition
    waiting = [claim(**{"Learner ID": f"LRN-{i}", "Activity ID": "ACT-NOID"}) for i in range(3)]
    first = ledgers.run_flow(write_export(tmp_path / "week1.csv", waiting), mappings=write_map(tmp_path / "m.csv"))
    assert first["counts"]["delayed"] == 3
    with caplog.at_level(logging.INFO):
        again = ledgers.run_flow(mappings=write_map(tmp_path / "registered.csv", REGISTERED))
    assert again["carried_over"] == {"submitted": 3, "delayed": 0, "rejected": 0}
    assert "partition 2 of 2 judged" in caplog.text
