"""`python -m bench.stream`: a streamed run and its nothing-new run, measured, at 3,000 claims."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import bench.stream
from bench.measure import Measured
from bench.stream import STREAM_KEYS

pytestmark = pytest.mark.flow

ROOT = Path(__file__).resolve().parents[2]
N = 3000


def _task_names_by_flow_run(prefect_db: Path) -> list[set[str]]:
    """The tasks each flow run ran, in the order the runs started, from the Prefect server's own
    database (the CLI's ephemeral server keeps it in PREFECT_HOME, inside the kept work folder)."""
    with sqlite3.connect(prefect_db) as conn:
        rows = conn.execute(
            "SELECT f.id, t.name FROM flow_run f JOIN task_run t ON t.flow_run_id = f.id ORDER BY f.start_time"
        ).fetchall()
    runs: dict[str, set[str]] = {}
    for flow_run, task in rows:
        runs.setdefault(flow_run, set()).add(task.rsplit("-", 1)[0])  # "spill_exports-4e7": the task
    return list(runs.values())


def test_stream_bench_measures_two_streamed_runs_and_keeps_their_folder(tmp_path: Path) -> None:
    results, scratch = tmp_path / "results", tmp_path / "tmp"
    scratch.mkdir()
    # TMPDIR: the bench's work folder and the runs' spill folders land where the test can see them.
    env = {**os.environ, "BENCH_RESULTS_DIR": str(results), "TMPDIR": str(scratch)}
    done = subprocess.run(
        [sys.executable, "-m", "bench.stream", "--n", str(N), "--keep"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    last = json.loads(done.stdout.strip().splitlines()[-1])
    assert tuple(last) == STREAM_KEYS
    assert last["n"] == N and last["export_mb"] > 0
    assert all(last[k] > 0 for k in ("first_seconds", "incremental_seconds"))
    assert last["first_peak_rss_mb"] > 0 and last["incremental_peak_rss_mb"] > 0
    assert all(last[k] > 0 for k in ("submitted", "delayed", "rejected"))
    assert last["submitted"] + last["delayed"] + last["rejected"] <= N

    [line] = (results / "stream_history.jsonl").read_text().splitlines()
    record = json.loads(line)
    assert {k: record[k] for k in STREAM_KEYS} == last
    assert {"at", "commit", "load"} <= set(record)

    # The kept work folder: the export, the map, and the runs' ledger and outputs.
    [work] = scratch.glob("cme-relay-bench-stream-*")
    assert {"portal_export.csv", "activity_map.csv", "run"} <= {p.name for p in work.iterdir()}
    with sqlite3.connect(work / "run" / "ledger.db") as conn:
        runs = conn.execute("SELECT run_id, status, counts FROM runs ORDER BY started_at").fetchall()
        outcomes = dict(
            conn.execute(
                "SELECT r.run_id, COUNT(*) FROM run_outcomes o JOIN runs r ON r.run_id = o.run_id GROUP BY r.run_id"
            ).fetchall()
        )
        carried = conn.execute("SELECT COUNT(*) FROM run_outcomes WHERE carried").fetchone()[0]
    assert [status for _, status, _ in runs] == ["succeeded", "succeeded"]
    first_counts = json.loads(runs[0][2])["counts"]
    assert {k: first_counts[k] for k in ("submitted", "delayed", "rejected")} == {
        k: last[k] for k in ("submitted", "delayed", "rejected")
    }
    assert outcomes[runs[0][0]] == N  # one outcome per input row
    # Nothing new: the export is skipped by its checksum, the waiting claims are judged again.
    assert outcomes[runs[1][0]] == carried == last["delayed"]
    assert len(list((work / "run" / "outbox").glob("*.xlsx"))) == 1

    # Both runs took the streamed path (the nothing-new run too: STREAM_ABOVE_MB=0 streams every run).
    tasks = _task_names_by_flow_run(work / "run" / "prefect" / "prefect.db")
    assert len(tasks) == 2
    for ran in tasks:
        assert {"spill_exports", "plan_run_partitions", "judge_and_load_partitions", "write_run_batches"} <= ran
        assert not {"judge_claims", "load_submission"} & ran
    assert not list(scratch.glob("cme-relay-spill-*"))  # each run removed its spill folder


@pytest.mark.parametrize("runs", ["succeed", "fail"])
def test_stream_bench_removes_its_work_folder_without_keep(tmp_path, monkeypatch, capsys, runs) -> None:
    """The runs stand in (no Prefect, no CLI); the work folder goes whether they succeed or fail."""
    import tempfile

    monkeypatch.setenv("BENCH_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    seen: list[Path] = []

    def stand_in(export: Path, mappings: Path, folder: Path, as_of: str, settings: dict) -> Measured:
        seen.append(folder.parent)
        assert export.exists() and mappings.exists() and settings == {"CME_RELAY_STREAM_ABOVE_MB": "0"}
        if runs == "fail":
            raise RuntimeError("cme-relay run failed (injected)")
        counts = {"submitted": 30, "delayed": 5, "rejected": 15}
        return Measured("process", 1.0, 200.0, 1.0, {"counts": counts})

    monkeypatch.setattr(bench.stream, "run_cli", stand_in)
    if runs == "fail":
        with pytest.raises(RuntimeError, match="injected"):
            bench.stream.main(["--n", "50"])
    else:
        assert bench.stream.main(["--n", "50"]) == 0
    work = seen[0]
    assert work.parent == tmp_path and work.name.startswith("cme-relay-bench-stream-")
    assert not work.exists()
    history = tmp_path / "results" / "stream_history.jsonl"
    out = capsys.readouterr().out
    if runs == "fail":  # nothing recorded, no summary line, for a bench that did not finish
        assert not history.exists() and out == ""
    else:
        assert json.loads(out.splitlines()[-1])["submitted"] == 30 and history.exists()
