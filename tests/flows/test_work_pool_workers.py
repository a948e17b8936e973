"""Issue 7, past one machine: two Prefect process workers, one work pool, a PostgreSQL ledger.

The production setup of README "Production setup: PostgreSQL and Prefect workers", all of it real
and on this machine: `prefect server start`, `prefect work-pool create ... --type process`,
`prefect deploy --all` from the project's prefect.yaml, two `prefect worker start` processes
with the CME_RELAY_* settings in their environment, and a throw-away PostgreSQL server as the
shared ledger. Four flow runs are created at once, one export each; some claims are in two
exports, so a double send would show in the ledger and the registry files.

The slow test of the suite (about 1-2 minutes here): it runs in `make test` and in CI.
Only it: `.venv/bin/python -m pytest tests/flows/test_work_pool_workers.py`.
"""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from uuid import UUID

import pandas as pd
import pytest
import sqlalchemy as sa
import yaml

from flows import schedule as biweekly
from load.ledger.database import open_ledger
from schemas.registry_row import REGISTRY_FIELDS, REGISTRY_HEADERS
from tests.factories import VALID_NPI, claim, write_export, write_map
from tests.flows.prefect_processes import PREFECT, Spawned, prefect_env, spawn, start_server, stop_all, wait_healthy
from tests.load.ledger.pgserver import fresh_database, running_postgres

pytestmark = [pytest.mark.slow, pytest.mark.flow, pytest.mark.postgres, pytest.mark.timeout(420)]

ROOT = Path(__file__).resolve().parents[2]
AS_OF = "2026-11-26"
EXPORTS = 4
OWN_CLAIMS = 12  # submittable claims found in one export only
RUNS_TIMEOUT = 360.0
# Identity every learner of this test shares; none of it may reach a log or Prefect's API.
IDENTITY = {
    "First Name": "Zephyrine",
    "Email": "zq.learner@example.org",
    "Date of Birth": "07/19/1977",
    "License Number": "LQ99871",
    "NPI": VALID_NPI,
}
IDENTITY_MARKS = ["Zephyrine", "Quortley", "zq.learner", "07/19/1977", "1977-07-19", "LQ99871", VALID_NPI]


def _learner(n: int, claim_id: str, **overrides: object) -> dict:
    # A last name per claim, so each registry row can be told apart from the others.
    last = "Quortley" + chr(65 + n // 26) + chr(65 + n % 26)
    return claim(**{**IDENTITY, "Claim ID": claim_id, "Learner ID": f"WL{n:04d}", "Last Name": last, **overrides})


def build_exports(folder: Path) -> tuple[list[Path], set[str]]:
    """Four exports: own claims, claims shared with the next export, and some that are not sent."""
    shared = {i: [_learner(200 + 2 * i + k, f"SHARED-{i}-{k}") for k in range(2)] for i in range(EXPORTS)}
    exports, submittable = [], set()
    for i in range(EXPORTS):
        own = [_learner(20 * i + k, f"W{i}-{k:02d}") for k in range(OWN_CLAIMS)]
        not_sent = [
            _learner(100 + i, f"W{i}-OLD", **{"Completion Date": "2023-02-01", "Claim Date": "2023-02-02"}),
            _learner(150 + i, f"W{i}-WAIT", **{"Activity ID": "ACT-NOID"}),
        ]
        # Export i carries its own shared pair and the previous export's: each shared claim is in two.
        rows = own + shared[i] + shared[(i - 1) % EXPORTS] + not_sent
        exports.append(write_export(folder / f"portal_export_{i}.csv", rows))
        submittable |= {r["Claim ID"] for r in own + shared[i]}
    return exports, submittable


def deploy_config(folder: Path) -> Path:
    """The project's prefect.yaml for this test: same build and pull steps, entrypoint and pool,
    without its schedule and its `concurrency_limit: 1`.

    Chosen: no concurrency limit. With it Prefect would run the four runs one after another and
    the test would show Prefect's limit, not the ledger. Without it the four runs start together
    on two workers, and what keeps them exact is what production relies on past one machine: the
    run lock (an advisory lock on PostgreSQL; a run waits for it, CME_RELAY_LOCK_WAIT_SECONDS),
    the unique keys and one transaction per load. The schedule would only add future runs.
    """
    config = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    [deployment] = [d for d in config["deployments"] if d["name"] == biweekly.DEPLOYMENT_NAME]
    deployment.pop("concurrency_limit")
    deployment["schedules"] = []
    config["deployments"] = [deployment]
    path = folder / "prefect.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _prefect(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run([*PREFECT, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, f"prefect {' '.join(args)} failed: {(done.stdout + done.stderr)[-3000:]}"
    return done.stdout + done.stderr


def _wait_for_runs(client, run_ids: list[UUID], workers: list[Spawned]) -> dict:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + RUNS_TIMEOUT
    while True:
        runs = {r: client.read_flow_run(r) for r in run_ids}
        if all(r.state is not None and r.state.is_final() for r in runs.values()):
            return runs
        for worker in workers:
            assert worker.popen.poll() is None, f"{worker.name} exited: {worker.output()[-3000:]}"
        if time.monotonic() > deadline:
            states = {str(r): (run.state.type.value if run.state else None) for r, run in runs.items()}
            raise AssertionError(f"runs not finished after {RUNS_TIMEOUT:.0f} s: {states}")
        time.sleep(2)


def _run_logs(client, run_id: UUID) -> list[str]:  # type: ignore[no-untyped-def]
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    logs = client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])), limit=200)
    return [log.message for log in logs]


def _sent_adds(engine) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return pd.read_sql(sa.text("SELECT * FROM sent_rows WHERE action = 'Add'"), conn)


def _most_in_flight(runs: list) -> int:  # type: ignore[type-arg]
    """The most flow runs running at one moment, from Prefect's start and end times."""
    return max(sum(other.start_time <= run.start_time < other.end_time for other in runs) for run in runs)


def _ledger_spans(engine) -> list[tuple]:  # type: ignore[no-untyped-def]
    """(started_at, finished_at) of each ledger run in start order: the time it held the run lock."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text("SELECT started_at, finished_at FROM runs ORDER BY started_at"))]


def _registry_rows(outbox: Path) -> pd.DataFrame:
    """Every row of every registry file in the outbox, read back with calamine."""
    files = sorted(outbox.glob("*.xlsx"))
    assert files, f"no registry file in {outbox}"
    frames = [pd.read_excel(f, engine="calamine", dtype=str, header=1) for f in files]
    rows = pd.concat(frames, ignore_index=True)
    assert list(rows.columns) == list(REGISTRY_HEADERS)
    return rows.set_axis(list(REGISTRY_FIELDS), axis=1)


def test_two_workers_four_exports_at_once_send_every_claim_once(tmp_path: Path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    work = tmp_path / "work"
    folders = {name: work / name for name in ("inbox", "outbox", "reports", "exports")}
    for folder in folders.values():
        folder.mkdir(parents=True)
    logs = tmp_path / "logs"
    logs.mkdir()
    laps: dict[str, float] = {}
    started = time.monotonic()

    def lap(stage: str) -> None:
        laps[stage] = round(time.monotonic() - started - sum(laps.values()), 1)

    with ExitStack() as stack:
        # The Prefect server boots while PostgreSQL starts and the exports are written.
        api_url, server = start_server(tmp_path, logs)
        spawned = [server]  # the workers join it; all are stopped together, also on failure
        stack.callback(stop_all, spawned)
        pg = stack.enter_context(running_postgres())
        ledger_url = stack.enter_context(fresh_database(pg))
        # The schema is created once before the workers start, as an operator's first run would.
        engine = open_ledger(ledger_url)
        stack.callback(engine.dispose)
        exports, submittable = build_exports(folders["exports"])
        mappings = write_map(work / "activity_map.csv")
        wait_healthy(server, api_url)
        lap("server healthy, PostgreSQL and exports ready")

        cli_env = prefect_env(tmp_path / "cli-home", api_url)
        _prefect(["work-pool", "create", biweekly.WORK_POOL, "--type", "process"], cli_env)
        _prefect(["deploy", "--all", "--no-prompt", "--prefect-file", str(deploy_config(tmp_path))], cli_env)

        lap("work pool created, deployed")
        settings = {
            "CME_RELAY_DATABASE_URL": ledger_url,
            "CME_RELAY_INBOX": str(folders["inbox"]),
            "CME_RELAY_OUTBOX": str(folders["outbox"]),
            "CME_RELAY_REPORTS": str(folders["reports"]),
            "CME_RELAY_MAPPINGS": str(mappings),
            # Four runs queue for one ledger: each waits for the run lock instead of failing.
            "CME_RELAY_LOCK_WAIT_SECONDS": "300",
        }
        workers = []
        for name in ("worker-a", "worker-b"):
            env = prefect_env(tmp_path / f"{name}-home", api_url, PREFECT_WORKER_QUERY_SECONDS="2", **settings)
            # --limit 2: neither worker can take all four runs, so both run some.
            args = [*PREFECT, "worker", "start", "--pool", biweekly.WORK_POOL, "--name", name, "--limit", "2"]
            workers.append(spawn(name, args, env, ROOT, logs))
            spawned.append(workers[-1])

        with temporary_settings(updates={PREFECT_API_URL: api_url}), get_client(sync_client=True) as client:
            deployment = client.read_deployment_by_name(f"credit-reporting/{biweekly.DEPLOYMENT_NAME}")
            assert deployment.work_pool_name == biweekly.WORK_POOL
            assert deployment.global_concurrency_limit is None
            _wait_for_workers(client, {"worker-a", "worker-b"}, workers)
            lap("both workers online")
            run_ids = [
                client.create_flow_run_from_deployment(
                    deployment.id, parameters={"exports": [str(export)], "as_of": AS_OF}
                ).id
                for export in exports
            ]
            runs = _wait_for_runs(client, run_ids, workers)
            logs_by_run = {r: _run_logs(client, r) for r in run_ids}
            lap("four runs finished")

        states = {str(r): run.state.type.value for r, run in runs.items()}
        assert set(states.values()) == {"COMPLETED"}, f"{states}\n" + "\n".join(
            line for lines in logs_by_run.values() for line in lines
        )
        # Runs were in flight together (how many depends on how fast four processes boot on a
        # busy machine; at least two) ...
        assert _most_in_flight(list(runs.values())) >= 2, [(r.start_time, r.end_time) for r in runs.values()]
        # Each worker ran at least one of the four (the worker names itself in the run's log).
        ran_by = {
            r: {w for w in ("worker-a", "worker-b") for line in lines if f"Worker '{w}' submitting" in line}
            for r, lines in logs_by_run.items()
        }
        assert all(names for names in ran_by.values()), ran_by
        # Two workers can pick up the same scheduled run: Prefect lets one move it to Pending and
        # the other aborts its submission (the run never starts twice; the ledger checks below).
        contested = [r for r, names in ran_by.items() if len(names) > 1]
        assert all(any("Aborted submission" in line for line in logs_by_run[r]) for r in contested), ran_by
        assert {name for names in ran_by.values() for name in names} == {"worker-a", "worker-b"}, ran_by

        # The ledger: four succeeded runs, every submittable claim sent once, nothing else sent.
        with engine.connect() as conn:
            ledger_runs = conn.execute(sa.text("SELECT status, COUNT(*) FROM runs GROUP BY status")).all()
            lock_holder = conn.execute(sa.text("SELECT run_id FROM run_lock")).scalar()
        assert dict(ledger_runs) == {"succeeded": EXPORTS}
        # ... and the run lock made them take the ledger one after another.
        spans = _ledger_spans(engine)
        assert all(done <= following for (_, done), (following, _) in zip(spans, spans[1:], strict=False)), spans
        assert lock_holder is None
        adds = _sent_adds(engine)
        per_claim = Counter(adds["claim_id"])
        assert [c for c, n in per_claim.items() if n > 1] == []
        assert set(per_claim) == submittable
        assert len(adds) == len(submittable) == EXPORTS * (OWN_CLAIMS + 2)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT COUNT(*) FROM sent_rows WHERE action <> 'Add'")).scalar() == 0

        # The registry files hold exactly the rows the ledger says were sent.
        files = _registry_rows(folders["outbox"])
        key = ["action", "accme_activity_id", "last_name", "completion_date"]
        assert len(files) == len(adds)
        assert sorted(map(tuple, files[key].to_numpy().tolist())) == sorted(map(tuple, adds[key].to_numpy().tolist()))
        assert not files.duplicated(key).any()

        # No learner identity in what the workers (and the flow runs they started) printed, nor in
        # the runs' logs and parameters on the Prefect server.
        printed = "\n".join(w.output() for w in workers)
        assert "submitting flow run" in printed  # the output was captured
        on_server = "\n".join(
            [line for lines in logs_by_run.values() for line in lines] + [str(r.parameters) for r in runs.values()]
        )
        for mark in IDENTITY_MARKS:
            assert mark not in printed, f"learner identity ({mark[:2]}...) in the workers' output"
            assert mark not in on_server, f"learner identity ({mark[:2]}...) in the Prefect server's logs"
        print(f"\nwork-pool test, seconds per stage: {laps}")


def _wait_for_workers(client, names: set[str], workers: list[Spawned], timeout: float = 120.0) -> None:  # type: ignore[no-untyped-def]
    """Both workers polling the pool, so that neither can take every run before the other starts."""
    deadline = time.monotonic() + timeout
    while True:
        online = {w.name for w in client.read_workers_for_work_pool(biweekly.WORK_POOL) if w.status.value == "ONLINE"}
        if names <= online:
            return
        for worker in workers:
            assert worker.popen.poll() is None, f"{worker.name} exited: {worker.output()[-3000:]}"
        assert time.monotonic() < deadline, f"workers online after {timeout:.0f} s: {online}"
        time.sleep(1)
