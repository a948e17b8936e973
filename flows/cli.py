"""The `cme-relay` command line. Exit codes: 0 success, 1 the run failed, 2 usage error."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    help="Report physicians' CME credit from a portal export to ACCME's registry (PARS).",
    no_args_is_help=True,
    add_completion=False,
)
out = Console()
err = Console(stderr=True)


def _prefect_environment() -> None:
    # Before Prefect is imported: a local home, no telemetry (there is no network), time for a cold start.
    os.environ.setdefault("PREFECT_HOME", str(Path("var/prefect").resolve()))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)


def _print_summary(summary: dict) -> None:
    counts = summary["counts"]
    table = Table(title=f"Run {summary['run_id']} - {summary['status']} (as of {summary['as_of']})")
    table.add_column("outcome")
    table.add_column("claims", justify="right")
    for key, value in counts.items():
        table.add_row(key, str(value))
    out.print(table)
    carried = {k: v for k, v in summary["carried_over"].items() if v}
    if carried:
        out.print("Waiting claims from earlier runs: " + ", ".join(f"{k} {v}" for k, v in carried.items()))
    for kind in ("rejected", "delayed"):
        for code, n in summary["reasons"][kind].items():
            out.print(f"  {kind:9} {code:35} {n}")
    for path in summary["submission_files"]:
        out.print(f"Registry file: {path}")
    for path in summary["report_files"]:
        out.print(f"Report: {path}")
    if summary["error"]:
        err.print(f"[bold red]Run failed:[/] {summary['error']}")


@app.command()
def run(
    export: Annotated[list[Path] | None, typer.Option("--export", help="a portal export (repeatable)")] = None,
    mappings: Annotated[Path | None, typer.Option(help="the activity map (CSV or XLSX)")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="the run's date, YYYY-MM-DD")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="judge everything, load and send nothing")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Run once now: judge new claims and waiting ones, load the ledger, write the registry file."""
    if as_of is not None:
        from datetime import date

        try:
            date.fromisoformat(as_of)
        except ValueError:
            raise typer.BadParameter(f"{as_of!r} is not a date like 2026-11-26", param_hint="--as-of") from None
    _prefect_environment()
    from flows.credit_reporting import credit_reporting, run_summary

    state = credit_reporting(
        exports=[str(p) for p in export] if export else None,
        mappings=str(mappings) if mappings else None,
        as_of=as_of,
        dry_run=dry_run,
        return_state=True,
    )
    summary = run_summary(state)
    code = 0 if summary["status"] == "succeeded" else 1
    if as_json:
        print(json.dumps(summary, indent=2))
    else:
        _print_summary(summary)
    raise typer.Exit(code)


@app.command("check-mappings")
def check_mappings(
    path: Annotated[Path, typer.Argument(help="the activity map to check")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """List every problem in an activity map with its line; exit 1 if there is any."""
    from extract import read_activity_map
    from extract.errors import ExtractError
    from transform.mapping import activity_map_problems

    try:
        problems = activity_map_problems(read_activity_map(path))
    except ExtractError as exc:
        err.print(f"[bold red]{exc}[/]")
        raise typer.Exit(1) from None
    records = problems.astype(object).where(problems.notna(), None).to_dict("records")
    if as_json:
        print(json.dumps({"file": str(path), "problems": records}, indent=2))
    elif records:
        for r in records:
            out.print(
                f"{r['source_file']}:{r['source_line']}: {r['problem']} ({r['portal_activity_id']}): {r['detail']}"
            )
    else:
        out.print(f"{path}: no problems found")
    raise typer.Exit(1 if records else 0)


# status, delayed and report only read the ledger: they never import Prefect (a temporary Prefect
# server costs seconds), so staff get an answer at once.


def _ledger_reader():  # type: ignore[no-untyped-def]
    from flows.settings import Settings
    from load.ledger.queries import open_reader

    settings = Settings()
    return settings, open_reader(settings.database_url)


def _today(value: str | None, timezone: str):  # type: ignore[no-untyped-def]
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    if value is None:
        return datetime.now(ZoneInfo(timezone)).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date like 2026-11-26", param_hint="--as-of") from None


@app.command()
def status(
    limit: Annotated[int, typer.Option("--limit", min=1, help="how many recent runs")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Recent runs: when, trigger and who, counts by outcome, files, state."""
    from flows.views import print_runs
    from load.ledger.queries import recent_runs

    settings, engine = _ledger_reader()
    records = recent_runs(engine, limit) if engine else []
    if as_json:
        print(json.dumps({"runs": records}, indent=2))
    elif records:
        print_runs(out, records, settings.timezone)
    else:
        out.print("No runs yet.")


@app.command()
def delayed(
    as_of: Annotated[str | None, typer.Option("--as-of", help="count ages on this date (default today)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Claims waiting to be reported: why, since when, how many days old."""
    from flows.views import print_delayed
    from load.ledger.queries import DELAYED_COLUMNS, REPORTING_EXPECTATION_DAYS, delayed_claims

    settings, engine = _ledger_reader()
    today = _today(as_of, settings.timezone)
    if engine:
        waiting = delayed_claims(engine, today, settings.timezone)
    else:
        import pandas as pd

        waiting = pd.DataFrame(columns=[*DELAYED_COLUMNS, "days_since_completion", "days_delayed", "past_expectation"])
    if as_json:
        records = waiting.astype(object).where(waiting.notna(), None).to_dict("records")
        print(
            json.dumps(
                {
                    "as_of": today.isoformat(),
                    "expectation_days": REPORTING_EXPECTATION_DAYS,
                    "count": len(records),
                    "past_expectation": sum(bool(r["past_expectation"]) for r in records),
                    "claims": records,
                },
                indent=2,
            )
        )
    elif len(waiting):
        print_delayed(out, waiting, today.isoformat(), REPORTING_EXPECTATION_DAYS)
    else:
        out.print("No claims are waiting.")


@app.command()
def report(
    run_id: Annotated[str, typer.Argument(help="a run id (the first 8 characters are enough)")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Where a run's report and registry files are, and its summary."""
    from flows.views import print_report
    from load.ledger.queries import AmbiguousRunIdError, run_report

    settings, engine = _ledger_reader()
    try:
        record = run_report(engine, run_id.strip()) if engine else None
    except AmbiguousRunIdError as exc:
        err.print(f"[bold red]{exc}[/]")
        raise typer.Exit(1) from None
    if record is None:
        err.print(f"[bold red]No run {run_id!r} in the ledger.[/] `cme-relay status` lists recent runs.")
        raise typer.Exit(1)
    if as_json:
        print(json.dumps(record, indent=2))
    else:
        print_report(out, record, settings.timezone)


@app.command()
def serve(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print what would be served, then exit")] = False,
) -> None:
    """Run the two-weekly schedule on this machine (no worker needed); Ctrl+C stops and pauses it."""
    from datetime import UTC, datetime

    from flows.schedule import biweekly_schedule
    from flows.settings import Settings

    settings = Settings()
    schedule = biweekly_schedule(settings.timezone)
    _prefect_environment()
    from flows.schedule import build_deployment

    deployment = build_deployment(settings.timezone)
    out.print(f"Deployment [bold]{deployment.flow_name}/{deployment.name}[/] ({deployment.entrypoint})")
    out.print(f"  schedule: {schedule.describe()}, anchored {schedule.anchor.isoformat()}")
    out.print(
        f"  at most {deployment.concurrency_limit} run at a time; parameters {json.dumps(deployment.parameters)}"
        f", scheduled runs {json.dumps(deployment.schedules[0].parameters)}"
    )
    for when in schedule.next_runs(datetime.now(UTC), 3):
        out.print(f"  next run: {when:%A %Y-%m-%d %H:%M %Z}")
    if dry_run:
        return
    from prefect.settings import get_current_settings

    if not get_current_settings().api.url:
        # Works, but nobody can watch it, and the temporary server goes away with this process.
        err.print(
            "[yellow]No PREFECT_API_URL: serving against a temporary local Prefect server (no UI). "
            "For the UI run `prefect server start` and set PREFECT_API_URL=http://127.0.0.1:4200/api.[/]"
        )
    from prefect import serve as prefect_serve

    prefect_serve(deployment, limit=1)


@app.command()
def rebuild(
    batch_id: Annotated[str, typer.Argument(help="the batch id, e.g. PARS-20261126-1a2b3c4d-01")],
    out_dir: Annotated[Path, typer.Option("--out", help="where to write the file")] = Path("rebuilt"),
) -> None:
    """Regenerate a batch's registry file from the ledger; exit 1 unless it matches the stored checksum."""
    # Reads the ledger only: no Prefect here.
    from flows.settings import Settings
    from load.ledger.database import open_ledger
    from load.ledger.rebuild import UnknownBatchError, rebuild_batch_file, stored_batch

    engine = open_ledger(Settings().database_url, migrate=False)
    try:
        path, sha = rebuild_batch_file(engine, batch_id, out_dir)
        stored = stored_batch(engine, batch_id)["sha256"]
    except UnknownBatchError as exc:
        err.print(f"[bold red]{exc}[/]")
        raise typer.Exit(1) from None
    out.print(f"Rebuilt {path} sha256={sha}")
    if stored is None:
        err.print("[yellow]The ledger holds no checksum for this batch: its file was never written.[/]")
    elif stored != sha:
        err.print(f"[bold red]Checksum differs from the one stored when the file was written ({stored}).[/]")
        raise typer.Exit(1)
    else:
        out.print("Matches the checksum stored when the file was written.")


if __name__ == "__main__":
    app()
