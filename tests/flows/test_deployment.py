"""Issue 5: prefect.yaml and `cme-relay serve` describe one schedule, read the way Prefect reads them."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from rich.console import Console

from flows import schedule as biweekly

ROOT = Path(__file__).resolve().parents[2]
PREFECT_YAML = ROOT / "prefect.yaml"
PACIFIC = ZoneInfo("America/Los_Angeles")


def load_prefect_yaml() -> tuple[dict, dict]:
    """The deployment and actions as `prefect deploy` reads them (its own loader and validation)."""
    from prefect.cli.deploy._config import _load_deploy_configs_and_actions

    configs, actions = _load_deploy_configs_and_actions(PREFECT_YAML, console=Console(stderr=True))
    [config] = [c for c in configs if c["name"] == biweekly.DEPLOYMENT_NAME]
    return config, actions


def test_prefect_yaml_schedule_as_prefect_reads_it():
    from prefect.cli.deploy._schedules import _schedule_config_to_deployment_schedule
    from prefect.client.schemas.schedules import IntervalSchedule

    config, _ = load_prefect_yaml()
    [entry] = config["schedules"]
    created = _schedule_config_to_deployment_schedule(entry)
    schedule = created["schedule"]
    assert isinstance(schedule, IntervalSchedule)
    assert schedule.interval == timedelta(days=14)
    assert schedule.timezone == "America/Los_Angeles"
    # The anchor is 07:00 Pacific (15:00 UTC), a Thursday: not 07:00 UTC.
    assert schedule.anchor_date.astimezone(UTC) == datetime(2026, 1, 8, 15, 0, tzinfo=UTC)
    assert schedule.anchor_date.astimezone(PACIFIC).strftime("%A %H:%M") == "Thursday 07:00"
    assert created["parameters"] == {"trigger": "schedule"}
    assert config["concurrency_limit"] == 1
    assert config["work_pool"]["name"] == biweekly.WORK_POOL


def test_prefect_yaml_entrypoint_is_the_real_flow():
    from prefect.flows import load_flow_from_entrypoint

    config, _ = load_prefect_yaml()
    cwd = os.getcwd()
    os.chdir(ROOT)  # `prefect deploy` resolves the entrypoint from the project folder
    try:
        loaded = load_flow_from_entrypoint(config["entrypoint"])
    finally:
        os.chdir(cwd)
    from flows.credit_reporting import credit_reporting

    assert loaded.name == credit_reporting.name == "credit-reporting"
    assert Path(loaded.fn.__code__.co_filename).resolve() == Path(credit_reporting.fn.__code__.co_filename).resolve()
    # Every documented parameter is a real parameter of the flow.
    assert set(config["parameters"]) <= set(loaded.parameters.properties)
    assert set(config["schedules"][0]["parameters"]) <= set(loaded.parameters.properties)


def test_prefect_yaml_needs_no_network():
    _, actions = load_prefect_yaml()
    steps = [name for step in [*actions["build"], *(actions["push"] or []), *(actions["pull"] or [])] for name in step]
    assert steps == ["prefect.deployments.steps.run_shell_script", "prefect.deployments.steps.set_working_directory"]
    assert not any("git" in s or "docker" in s or "pip" in s for s in steps)


def test_serve_and_prefect_yaml_agree():
    config, _ = load_prefect_yaml()
    served = biweekly.build_deployment("America/Los_Angeles")
    import yaml

    [raw] = [
        d for d in yaml.safe_load(PREFECT_YAML.read_text())["deployments"] if d["name"] == biweekly.DEPLOYMENT_NAME
    ]
    [entry] = raw["schedules"]
    assert entry == biweekly.biweekly_schedule("America/Los_Angeles").as_yaml()
    [schedule] = served.schedules
    assert schedule.schedule.interval == timedelta(seconds=entry["interval"])
    assert schedule.schedule.anchor_date == datetime.fromisoformat(entry["anchor_date"])
    assert schedule.schedule.timezone == entry["timezone"]
    assert schedule.parameters == entry["parameters"]
    assert served.name == config["name"]
    assert served.concurrency_limit == config["concurrency_limit"]
    assert served.parameters == config["parameters"]
    assert served.entrypoint == "flows.credit_reporting.credit_reporting"


def test_next_runs_match_prefects_scheduler_across_daylight_saving():
    from prefect.cli.deploy._schedules import _schedule_config_to_deployment_schedule
    from prefect.server.schemas.schedules import IntervalSchedule

    config, _ = load_prefect_yaml()
    loaded = _schedule_config_to_deployment_schedule(config["schedules"][0])["schedule"]
    # The server's own scheduler computes the run times from what the deployment stores.
    server_schedule = IntervalSchedule.model_validate(loaded.model_dump())
    start = datetime(2026, 2, 20, tzinfo=UTC)
    prefect_dates = asyncio.run(server_schedule.get_dates(n=8, start=start))
    ours = biweekly.biweekly_schedule("America/Los_Angeles").next_runs(start, 8)
    assert [d.astimezone(UTC) for d in prefect_dates] == [d.astimezone(UTC) for d in ours]
    # 07:00 local on both sides of the March change, and the sample's run date is one of them.
    assert {d.astimezone(PACIFIC).strftime("%a %H:%M") for d in ours} == {"Thu 07:00"}
    assert datetime(2026, 11, 26, 7, tzinfo=PACIFIC) in biweekly.biweekly_schedule("America/Los_Angeles").next_runs(
        datetime(2026, 11, 20, tzinfo=UTC), 1
    )


def test_schedule_follows_the_timezone_setting():
    eastern = biweekly.biweekly_schedule("America/New_York").as_yaml()
    assert eastern["anchor_date"] == "2026-01-08T07:00:00-05:00"
    with pytest.raises(Exception, match="Mars/Olympus"):
        biweekly.biweekly_schedule("Mars/Olympus")


def test_serve_dry_run_prints_the_schedule(workspace, monkeypatch):
    from typer.testing import CliRunner

    from flows.cli import app

    monkeypatch.setenv("COLUMNS", "200")
    result = CliRunner().invoke(app, ["serve", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "credit-reporting/credit-reporting-biweekly" in result.output
    assert "every 14 days at 07:00 (Thursdays) America/Los_Angeles" in result.output
    assert "at most 1 run at a time" in result.output
    assert result.output.count("next run: Thursday") == 3


@pytest.mark.flow
def test_prefect_deploy_all_creates_the_deployment(prefect_harness, tmp_path):
    """`prefect deploy --all --no-prompt` against the test server, then read the deployment back."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.settings import PREFECT_API_URL

    async def create_pool() -> None:
        async with get_client() as client:
            await client.create_work_pool(WorkPoolCreate(name=biweekly.WORK_POOL, type="process"), overwrite=True)

    asyncio.run(create_pool())
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "PREFECT_HOME": str(tmp_path / "prefect")}
    deploy = subprocess.run(
        [sys.executable, "-m", "prefect", "deploy", "--all", "--no-prompt"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr

    async def read_back():  # type: ignore[no-untyped-def]
        async with get_client() as client:
            return await client.read_deployment_by_name(f"credit-reporting/{biweekly.DEPLOYMENT_NAME}")

    deployment = asyncio.run(read_back())
    assert deployment.entrypoint == biweekly.ENTRYPOINT
    assert deployment.work_pool_name == biweekly.WORK_POOL
    assert deployment.global_concurrency_limit is not None
    assert deployment.global_concurrency_limit.limit == 1  # at most one run at a time
    assert deployment.parameters == {"trigger": "deployment"}
    [schedule] = deployment.schedules
    assert schedule.schedule.interval == timedelta(days=14)
    assert schedule.schedule.timezone == "America/Los_Angeles"
    assert schedule.schedule.anchor_date.astimezone(UTC) == datetime(2026, 1, 8, 15, 0, tzinfo=UTC)
    assert schedule.parameters == {"trigger": "schedule"}
    assert deployment.pull_steps == [{"prefect.deployments.steps.set_working_directory": {"directory": str(ROOT)}}]
