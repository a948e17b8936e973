"""The benchmark harness: its pieces on small data, and one whole run at BENCH_N=2000."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from bench.baseline import office_script
from bench.floor import sqlite_floor, xlsx_floor
from bench.measure import Stages, run_part
from bench.run import SUMMARY_KEYS, as_text_numbers
from bench.synthetic import make_activity_map, make_portal_export, write_csv
from extract import read_portal_export

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("synthetic")
    amap = make_activity_map(40)
    export = make_portal_export(3000, amap, as_of="2026-11-26")
    return {"folder": folder, "map": amap, "export": export}


def test_arrow_csv_reads_back_like_the_pandas_writer(synthetic: dict) -> None:
    folder, export = synthetic["folder"], synthetic["export"]
    by_pandas = read_portal_export(write_csv(export, folder / "pandas.csv", engine="pandas"))
    by_arrow = read_portal_export(write_csv(as_text_numbers(export), folder / "arrow.csv", engine="arrow"))
    pd.testing.assert_frame_equal(by_pandas.drop(columns="source_file"), by_arrow.drop(columns="source_file"))


def test_floor_workbook_reads_back_with_openpyxl_and_calamine(synthetic: dict) -> None:
    from openpyxl import load_workbook

    frame = synthetic["export"].astype("string").head(500)
    frame.loc[3, "First Name"] = "Smith & <Sons>"
    path = synthetic["folder"] / "floor.xlsx"
    xlsx_floor(frame, path)
    back = pd.read_excel(path, dtype=str, engine="calamine")
    assert back.shape == frame.shape
    assert back.fillna("").equals(frame.astype(object).fillna("").astype(str).set_axis(back.columns, axis=1))
    sheet = load_workbook(path, read_only=True).active
    rows = list(sheet.iter_rows(min_row=1, max_row=5, values_only=True))
    assert list(rows[0]) == list(frame.columns)
    assert rows[4][3] == "Smith & <Sons>"


def test_floor_insert_stores_every_row(synthetic: dict, tmp_path: Path) -> None:
    import sqlite3

    frame = synthetic["export"].astype("string")
    split = sqlite_floor(frame, tmp_path / "floor.db")
    assert split["insert_seconds"] > 0
    with sqlite3.connect(tmp_path / "floor.db") as conn:
        assert conn.execute("SELECT count(*), count(c10) FROM export").fetchone() == (3000, frame["NPI"].notna().sum())


def test_office_script_sends_only_rows_that_pass(synthetic: dict, tmp_path: Path) -> None:
    folder = synthetic["folder"]
    export = write_csv(as_text_numbers(synthetic["export"]), folder / "office.csv", engine="arrow")
    amap = write_csv(as_text_numbers(synthetic["map"]), folder / "office_map.csv", engine="arrow")
    counts = office_script(export, amap, tmp_path / "b.db", tmp_path / "b.xlsx", "2026-11-26")
    assert counts["rows"] == 3000
    assert 0 < counts["sent"] < 3000


def test_stages_time_and_peak_each_stage() -> None:
    stages = Stages()
    with stages.stage("allocate", rows=10):
        block = bytearray(64 * 2**20)
        block[::4096] = b"x" * len(block[::4096])  # touch every page so it is resident
    del block
    with stages.stage("idle"):
        pass
    allocate, idle = stages.rows
    assert allocate["seconds"] >= 0 and allocate["rows"] == 10
    assert allocate["peak_rss_mb"] - idle["peak_rss_mb"] > 40  # the high-water mark was reset between stages


def test_a_part_runs_in_its_own_process(synthetic: dict) -> None:
    export = write_csv(as_text_numbers(synthetic["export"]), synthetic["folder"] / "part.csv", engine="arrow")
    measured = run_part("floor_read", {"export": str(export)})
    assert measured.result["rows"] == 3000
    assert measured.peak_rss_mb > 50 and measured.cpu_seconds > 0


@pytest.mark.flow
def test_whole_benchmark_at_2000_rows(tmp_path: Path) -> None:
    env = {**os.environ, "BENCH_N": "2000", "BENCH_RESULTS_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "bench.run"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    last = json.loads(done.stdout.strip().splitlines()[-1])
    assert tuple(last) == SUMMARY_KEYS
    assert last["n"] == 2000
    assert all(last[k] > 0 for k in SUMMARY_KEYS)
    history = (tmp_path / "history.jsonl").read_text().splitlines()
    assert len(history) == 1
    record = json.loads(history[0])
    assert {k: record[k] for k in SUMMARY_KEYS} == last and record["checks_failed"] == []
    assert "pipeline stages together" in done.stdout and "floor together" in done.stdout
    assert not (tmp_path / "work" / "n2000").exists()  # generated files and ledgers are removed


def test_floor_read_gives_the_texts_pandas_default_reader_gives(synthetic: dict) -> None:
    from bench.floor import read_floor

    folder = synthetic["folder"]
    export = write_csv(as_text_numbers(synthetic["export"]), folder / "floor_read.csv", engine="arrow")
    fast = read_floor(export)
    plain = pd.read_csv(export, dtype=str)
    assert fast.shape == plain.shape == (3000, synthetic["export"].shape[1])
    assert fast.fillna("").astype(str).equals(plain.fillna("").astype(str))
