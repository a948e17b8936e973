"""The streamed path on a PostgreSQL ledger decides and writes exactly what a whole run on SQLite does.

The same history runs twice through the real flow: in memory on a SQLite ledger, and streamed
(`STREAM_ABOVE_MB=0`) in partitions of three rows on PostgreSQL, where the registry rows are staged
in a temporary table and numbered into batches by SQL (`load.ledger.staged`). The database is
created with an ICU `en-US` collation, as production databases usually are: text ordered by the
database's collation instead of byte order would put `a-…` before `B-…` and show in the files.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa

from load.ledger import tables
from tests.factories import VALID_NPI, claim, write_export, write_map
from tests.flows.test_partitioned_runs import REGISTERED, learner_pairs
from tests.load.ledger.pgserver import PostgresServer, running_postgres

pytestmark = [pytest.mark.flow, pytest.mark.postgres]

RUN_TIMES = {"run_id", "first_seen_run", "first_seen_at", "state_changed_at", "delayed_since", "last_run_id"}
UNSTABLE = RUN_TIMES | {"created_at", "batch_id", "sha256", "id", "path", "file_name", "seq"}
KEYS = {
    "claims": ["claim_id"],
    "sent_rows": ["run_no", "part", "row_no"],
    "run_outcomes": ["run_no", "source_file", "source_line", "claim_id", "outcome"],
    "batches": ["run_no", "part"],
}
BATCH_MAX_ROWS = 4  # several registry files a run
_databases = itertools.count(1)


@pytest.fixture(scope="module")
def postgres_server() -> Iterator[PostgresServer]:
    with running_postgres() as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh database ordering text by ICU's en-US rules (not byte order); dropped afterwards."""
    name = f"cme_stream_{os.getpid()}_{next(_databases)}"
    admin = sa.create_engine(postgres_server.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(
            f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"
        )
    try:
        yield postgres_server.url(name)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


class Sides:
    """`memory`: whole runs on a SQLite ledger; `streamed`: partitions of 3 rows on PostgreSQL."""

    def __init__(self, root: Path, postgres_url: str, run_flow, monkeypatch, caplog) -> None:  # type: ignore[no-untyped-def]
        self.root, self.run_flow, self.monkeypatch, self.caplog = root, run_flow, monkeypatch, caplog
        self.urls = {"memory": f"sqlite:///{root / 'memory' / 'ledger.db'}", "streamed": postgres_url}
        for side in self.urls:
            for folder in ("outbox", "reports", "inbox"):
                (root / side / folder).mkdir(parents=True)

    def use(self, side: str) -> None:
        env = self.monkeypatch.setenv
        env("CME_RELAY_DATABASE_URL", self.urls[side])
        for folder in ("outbox", "reports", "inbox"):
            env(f"CME_RELAY_{folder.upper()}", str(self.root / side / folder))
        env("CME_RELAY_STREAM_ABOVE_MB", "0" if side == "streamed" else "10000")
        env("CME_RELAY_PARTITION_ROWS", "3")
        env("CME_RELAY_BATCH_MAX_ROWS", str(BATCH_MAX_ROWS))

    def run(self, *exports: Path, mappings: Path) -> tuple[dict, dict]:
        summaries = []
        for side in ("memory", "streamed"):
            self.use(side)
            self.caplog.clear()
            with self.caplog.at_level(logging.INFO):
                summary = self.run_flow(*exports, mappings=mappings, as_of="2026-11-20")
            assert summary["status"] == "succeeded", (side, summary["error"])
            # Only the streamed side judges partitions (and says so in the run log).
            assert ("partition 1 of" in self.caplog.text) == (side == "streamed"), side
            summaries.append(summary)
        memory, streamed = summaries
        # The same summary but for what names the run.
        unstable = ("run_id", "submission_files", "report_files")
        assert {k: v for k, v in memory.items() if k not in unstable} == {
            k: v for k, v in streamed.items() if k not in unstable
        }
        return memory, streamed

    def read(self, side: str) -> dict[str, pd.DataFrame]:
        """The ledger tables compared, through SQLAlchemy's types (booleans are booleans on both)."""
        engine = sa.create_engine(self.urls[side])
        try:
            with engine.connect() as conn:
                read = {
                    name: pd.read_sql(sa.select(tables.metadata.tables[name]), conn)
                    for name in ("runs", "claims", "sent_rows", "run_outcomes", "batches")
                }
        finally:
            engine.dispose()
        run_no = {r: i for i, r in enumerate(read["runs"].sort_values("started_at")["run_id"])}
        for name in ("run_outcomes", "batches"):
            read[name]["run_no"] = read[name]["run_id"].map(run_no)
        # A sent row's place: its run and part, from its batch (batch ids differ by run id).
        where = read["batches"].set_index("batch_id")[["run_no", "part"]]
        read["sent_rows"] = read["sent_rows"].join(where, on="batch_id")
        return read

    def compared(self, read: dict[str, pd.DataFrame], name: str) -> pd.DataFrame:
        frame = read[name]
        keep = [c for c in frame.columns if c not in UNSTABLE]
        return frame[keep].sort_values(KEYS[name]).reset_index(drop=True)

    def registry_files(self, side: str, batches: pd.DataFrame) -> list[list[tuple]]:
        """Each batch's file, in the order of runs and parts, as cell values."""
        books = []
        for name in batches.sort_values(["run_no", "part"])["file_name"]:
            book = openpyxl.load_workbook(self.root / side / "outbox" / name, read_only=True)
            books.append(list(book.active.iter_rows(values_only=True)))
            book.close()
        return books

    def assert_same(self) -> dict[str, pd.DataFrame]:
        memory, streamed = self.read("memory"), self.read("streamed")
        for name in KEYS:
            pd.testing.assert_frame_equal(self.compared(memory, name), self.compared(streamed, name), obj=name)
        # Input rows keep their place in the run; carried claims follow, in some order of partitions.
        ours = self._seq(memory)
        theirs = self._seq(streamed)
        fresh = ~ours["carried"]
        assert ours.loc[fresh, "seq"].tolist() == theirs.loc[fresh, "seq"].tolist()
        assert (
            ours.groupby("run_no")["seq"].apply(sorted).tolist()
            == theirs.groupby("run_no")["seq"].apply(sorted).tolist()
        )
        files = self.registry_files("memory", memory["batches"])
        assert files == self.registry_files("streamed", streamed["batches"])
        # No file but the batches': a run writes each of its batches once.
        for side in self.urls:
            assert len(list((self.root / side / "outbox").glob("*.xlsx"))) == len(files), side
        return streamed

    @staticmethod
    def _seq(read: dict[str, pd.DataFrame]) -> pd.DataFrame:
        frame = read["run_outcomes"].sort_values(KEYS["run_outcomes"]).reset_index(drop=True)
        return frame[["run_no", "seq", "carried"]].astype({"carried": bool})


@pytest.fixture
def sides(tmp_path, postgres_url, run_flow, monkeypatch, caplog) -> Sides:  # type: ignore[no-untyped-def]
    return Sides(tmp_path / "sides", postgres_url, run_flow, monkeypatch, caplog)


def history(folder: Path) -> list[tuple[list[Path], Path]]:
    """Three runs: (exports, activity map) each.

    Claim ids in mixed case and punctuation, whose byte order differs from en-US order, so the
    registry's order (by activity, then claim id, as Arrow sorts: bytes) would show a collation.
    """
    unregistered = write_map(folder / "map.csv")
    pairs = learner_pairs(4)
    mixed = ["b-7", "B-8", "a-2", "A-10", "Z-1", "c_3", "C-3", "_x", "x-9", "X-10", "é-1", "E-2"]
    base = {
        **{
            cid: claim(**{"Claim ID": cid, "Learner ID": f"LRN-M{i % 5}", "Completion Date": f"2026-10-{i + 2:02d}"})
            for i, cid in enumerate(mixed)
        },
        **{
            f"CAP-{i}": claim(**{"Claim ID": f"CAP-{i}", "Activity ID": "ACT-2", "Credits": "2", "Learner ID": old})
            for i, (old, _) in enumerate(pairs)
        },
        "c-cred": claim(**{"Claim ID": "c-cred", "Learner ID": "LRN-M1"}),
        "C-REV": claim(**{"Claim ID": "C-REV", "Learner ID": "LRN-M2"}),
        "w-reg": claim(**{"Claim ID": "w-reg", "Activity ID": "ACT-NOID", "Learner ID": "LRN-W1"}),
        "W-AWAY": claim(**{"Claim ID": "W-AWAY", "Activity ID": "ACT-NOID", "Learner ID": "LRN-W2"}),
        "X-NPI": claim(**{"Claim ID": "X-NPI", "NPI": "1234567890", "License Number": "", "Learner ID": "LRN-M3"}),
    }
    week1 = [write_export(folder / "week1.csv", list(base.values()))]

    # Capped claims move to another learner (the old one claims the activity again); a correction,
    # a revocation, a fixed NPI, a waiting claim with new data; TWICE stated twice in one file for
    # two learners; LATER stated in two files for two learners (the later file's wins).
    moved = [{**base[f"CAP-{i}"], "Learner ID": new} for i, (_, new) in enumerate(pairs)]
    again = [
        claim(**{"Claim ID": f"again-{i}", "Activity ID": "ACT-2", "Credits": "2", "Learner ID": old})
        for i, (old, _) in enumerate(pairs)
    ]
    week2 = [
        *moved,
        *again,
        {**base["c-cred"], "Credits": "2.5"},
        {**base["C-REV"], "Claim Status": "Revoked"},
        {**base["X-NPI"], "NPI": VALID_NPI},
        {**base["w-reg"], "Credits": "0.75"},
        {**base["B-8"], "Completion Date": "2026-10-20"},
        claim(**{"Claim ID": "LATER", "Learner ID": pairs[0][0]}),
        claim(**{"Claim ID": "TWICE", "Learner ID": pairs[1][0]}),
        claim(**{"Claim ID": "TWICE", "Learner ID": pairs[2][1]}),
    ]
    later = [claim(**{"Claim ID": "LATER", "Learner ID": pairs[3][1]})]
    week2_files = [write_export(folder / "week2.csv", week2), write_export(folder / "week2b.csv", later)]
    registered = write_map(folder / "registered.csv", REGISTERED)
    return [(week1, unregistered), (week2_files, unregistered), ([], registered)]


def test_a_history_streamed_on_postgres_matches_the_whole_run_on_sqlite(sides, tmp_path):
    """Registry files of at most 4 rows: each run writes several, numbered by SQL on PostgreSQL
    and by `plan_batches` in memory; the same files in the same order."""
    (week1, unregistered), (week2, _), (_, registered) = history(tmp_path)

    first, _ = sides.run(*week1, mappings=unregistered)
    assert first["counts"]["delayed"] == 2 and first["counts"]["rejected"] == 1
    sides.assert_same()

    second, _ = sides.run(*week2, mappings=unregistered)
    assert second["counts"]["corrected"] == 2 and second["counts"]["revoked"] == 1
    assert second["reasons"]["rejected"].get("CONFLICTING_DUPLICATE") == 2
    assert second["counts"]["duplicate"] == 1  # LATER in week2.csv, superseded by week2b.csv
    assert "CREDITS_EXCEED_ACTIVITY_MAX" not in second["reasons"]["rejected"]
    sides.assert_same()

    third, third_streamed = sides.run(mappings=registered)
    assert third["carried_over"] == third_streamed["carried_over"] == {"submitted": 2, "delayed": 0, "rejected": 0}
    streamed = sides.assert_same()

    parts = streamed["batches"].groupby("run_no")["part"].max().tolist()
    assert parts[0] == 5 and parts[1] >= 3  # week 1: 18 Adds; week 2: Deletes and Adds
    assert (streamed["batches"]["rows"] <= 4).all() and (streamed["batches"]["rows"] > 0).all()
    # Byte order, as the whole run sorts with Arrow: upper case before lower case, whatever the
    # database's collation.
    week1_rows = streamed["sent_rows"].query("run_no == 0 and accme_activity_id == '202312345'")
    order = week1_rows.sort_values(["part", "row_no"])["claim_id"].tolist()
    assert order == sorted(order, key=lambda c: c.encode())
    assert order.index("B-8") < order.index("a-2")


def test_a_failure_in_a_later_partition_commits_nothing_on_postgres(sides, tmp_path, monkeypatch):
    """The staged rows' temporary tables and the partitions' writes go with the one transaction."""
    import flows.partitioned

    mappings = write_map(tmp_path / "map.csv")
    export = write_export(tmp_path / "week1.csv", [claim(**{"Learner ID": f"LRN-{i}"}) for i in range(20)])
    real, calls = flows.partitioned.write_outcomes, []

    def failing_on_the_third(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 3:
            raise OSError("disk full (injected)")
        return real(*args, **kwargs)

    monkeypatch.setattr(flows.partitioned, "write_outcomes", failing_on_the_third)
    sides.use("streamed")
    failed = sides.run_flow(export, mappings=mappings)
    assert failed["status"] == "failed" and len(calls) == 3
    engine = sa.create_engine(sides.urls["streamed"])
    try:
        with engine.connect() as conn:
            for table in ("claims", "sent_rows", "batches", "run_outcomes", "ingested_exports"):
                assert conn.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one() == 0, table
        assert not list((tmp_path / "sides" / "streamed" / "outbox").glob("*.xlsx"))

        monkeypatch.setattr(flows.partitioned, "write_outcomes", real)
        again = sides.run_flow(export, mappings=mappings)
        assert again["status"] == "succeeded" and again["counts"]["submitted"] == 20
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT COUNT(*) FROM sent_rows")).scalar_one() == 20
            assert conn.execute(sa.text("SELECT SUM(rows) FROM batches")).scalar_one() == 20
            # Registry rows numbered 1..4 in each of the five files.
            numbers = conn.execute(sa.text("SELECT batch_id, MIN(row_no), MAX(row_no) FROM sent_rows GROUP BY 1"))
            assert sorted((low, high) for _, low, high in numbers) == [(1, 4)] * 5
    finally:
        engine.dispose()
    assert len(list((tmp_path / "sides" / "streamed" / "outbox").glob("*.xlsx"))) == 5
