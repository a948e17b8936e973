"""The `cme-relay` command line. Exit codes: 0 success, 1 the run failed, 2 usage error."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Report physicians' CME credit from a portal export to ACCME's registry (PARS).",
                  no_args_is_help=True, add_completion=False)
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
            out.print(f"{r['source_file']}:{r['source_line']}: {r['problem']} ({r['portal_activity_id']}): {r['detail']}")
    else:
        out.print(f"{path}: no problems found")
    raise typer.Exit(1 if records else 0)


if __name__ == "__main__":
    app()
