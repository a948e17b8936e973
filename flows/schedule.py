"""The two-weekly schedule, defined once.

`cme-relay serve` builds its deployment from here; `prefect.yaml` writes the same values out for
`prefect deploy` (a test checks that the two agree). Prefect is imported only inside the
functions that build Prefect objects, so reading the schedule stays cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment
    from prefect.schedules import Schedule

DEPLOYMENT_NAME = "credit-reporting-biweekly"
FLOW_NAME = "credit-reporting"
ENTRYPOINT = "flows/credit_reporting.py:credit_reporting"
WORK_POOL = "cme-relay-pool"
INTERVAL = timedelta(days=14)
# Thursday 07:00 office time, before staff arrive: the office checks the run's outcome the same
# morning. 2026-01-08 is a Thursday; the date only fixes which Thursdays (every other one).
ANCHOR_WALL_TIME = datetime(2026, 1, 8, 7, 0)
CONCURRENCY_LIMIT = 1  # one run at a time; a second scheduled run waits for the first
# A run the schedule starts says so in the ledger; one started by hand from the deployment (UI
# "Quick run", `prefect deployment run`) says "deployment". Every other parameter keeps its
# default: exports from the inbox, the MAPPINGS setting, as-of from the scheduled start.
SCHEDULE_PARAMETERS: dict[str, Any] = {"trigger": "schedule"}
PARAMETERS: dict[str, Any] = {"trigger": "deployment"}
TAGS = ["cme-relay", "biweekly"]
DESCRIPTION = (
    "Every other Thursday 07:00 office time: ingest the new portal exports in the inbox, "
    "re-judge waiting claims, load the ledger, write the registry file and the run report."
)


@dataclass(frozen=True)
class BiweeklySchedule:
    """Every 14 days at the anchor's wall-clock time in the office's time zone (07:00 all year)."""

    timezone: str

    @property
    def anchor(self) -> datetime:
        return ANCHOR_WALL_TIME.replace(tzinfo=ZoneInfo(self.timezone))

    def next_runs(self, after: datetime, n: int = 3) -> list[datetime]:
        """The next `n` scheduled starts strictly after `after`, in the office's time zone.

        Steps are counted in local calendar days, so a run stays at 07:00 across daylight saving.
        """
        zone = ZoneInfo(self.timezone)
        days = (after.astimezone(zone).date() - ANCHOR_WALL_TIME.date()).days
        step = max(days // INTERVAL.days, 0)
        runs: list[datetime] = []
        while len(runs) < n:
            local = (ANCHOR_WALL_TIME + timedelta(days=step * INTERVAL.days)).replace(tzinfo=zone)
            if local > after:
                runs.append(local)
            step += 1
        return runs

    def as_yaml(self) -> dict[str, Any]:
        """The `schedules:` entry of prefect.yaml: the anchor carries its UTC offset (without one
        Prefect reads it as UTC whatever `timezone` says)."""
        return {
            "interval": int(INTERVAL.total_seconds()),
            "anchor_date": self.anchor.isoformat(),
            "timezone": self.timezone,
            "active": True,
            "parameters": dict(SCHEDULE_PARAMETERS),
        }

    def describe(self) -> str:
        return f"every {INTERVAL.days} days at {self.anchor:%H:%M} ({self.anchor:%A}s) {self.timezone}"


def biweekly_schedule(timezone: str) -> BiweeklySchedule:
    ZoneInfo(timezone)  # an unknown zone fails here, with the zone's name, not inside Prefect
    return BiweeklySchedule(timezone)


def prefect_schedule(timezone: str) -> Schedule:
    from prefect.schedules import Interval

    schedule = biweekly_schedule(timezone)
    return Interval(INTERVAL, anchor_date=schedule.anchor, timezone=timezone, parameters=dict(SCHEDULE_PARAMETERS))


def build_deployment(timezone: str) -> RunnerDeployment:
    """The deployment `cme-relay serve` runs: the same name, schedule, limit and parameters as
    prefect.yaml. The module entrypoint works from any folder once the package is installed."""
    from prefect.flows import EntrypointType

    from flows.credit_reporting import credit_reporting

    # to_deployment is sync here (no running event loop); its annotation also admits the async form.
    return credit_reporting.to_deployment(  # type: ignore[return-value]
        name=DEPLOYMENT_NAME,
        schedules=[prefect_schedule(timezone)],
        concurrency_limit=CONCURRENCY_LIMIT,
        parameters=dict(PARAMETERS),
        tags=list(TAGS),
        description=DESCRIPTION,
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
