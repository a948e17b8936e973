"""Rich tables for `cme-relay status`, `delayed` and `report`: what staff read in a terminal.

No Prefect here (these commands must answer at once). Only ids, activities, reasons, dates,
counts and file names are shown; never learner identity.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd
from rich.console import Console
from rich.table import Table

from schemas.reasons import OUTCOMES, STAFF_FIX

STATUS_STYLE = {"succeeded": "green", "failed": "bold red", "running": "yellow"}


def local_time(iso: str | None, timezone: str) -> str:
    if not iso:
        return "-"
    return datetime.fromisoformat(iso).astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


def _status(status: str) -> str:
    return f"[{STATUS_STYLE.get(status, 'white')}]{status}[/]"


def _outcomes(counts: dict) -> str:
    shown = [f"{o} {counts[o]}" for o in OUTCOMES if counts.get(o)]
    return ", ".join(shown) or "no claims"


def print_runs(console: Console, records: list[dict], timezone: str) -> None:
    table = Table(title=f"Recent runs (times in {timezone})")
    for name, justify in (
        ("started", "left"),
        ("run", "left"),
        ("trigger / who", "left"),
        ("state", "left"),
        ("rows in", "right"),
        ("outcomes", "left"),
        ("files", "left"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for r in records:
        files = [*r["files"]["export"], *r["files"]["registry"]]
        state = _status(r["status"]) + (" (dry run)" if r["dry_run"] else "")
        if r["error"]:
            state += f"\n[red]{r['error']}[/]"
        table.add_row(
            local_time(r["started_at"], timezone),
            r["run_id"][:8],
            f"{r['trigger']} / {r['triggered_by']}",
            state,
            str(r["counts"].get("input_rows", 0)),
            _outcomes(r["counts"]),
            "\n".join(files) or "-",
        )
    console.print(table)


def print_delayed(console: Console, delayed: pd.DataFrame, today: str, expectation_days: int) -> None:
    late = int(delayed["past_expectation"].sum())
    table = Table(
        title=f"Waiting claims on {today}: {len(delayed)}, {late} past the {expectation_days}-day expectation"
    )
    for name in ("claim", "activity", "ACCME id", "reason", "completed", "days since", "waiting since", "days waiting"):
        table.add_column(name, justify="right" if name.startswith("days") else "left")
    for r in delayed.astype(object).where(delayed.notna(), None).itertuples():
        flag = "[bold red]" if r.past_expectation else ""
        table.add_row(
            r.claim_id,
            r.portal_activity_id or "-",
            r.accme_activity_id or "-",
            r.reason or "-",
            r.completion_date or "?",
            f"{flag}{r.days_since_completion if r.days_since_completion is not None else '?'}",
            r.delayed_since or "-",
            str(r.days_delayed) if r.days_delayed is not None else "?",
        )
    console.print(table)
    for reason, n in delayed["reason"].value_counts().sort_index().items():
        console.print(f"  {reason}: {n} - {STAFF_FIX.get(str(reason), '')}")
    if late:
        console.print(
            f"[bold red]{late} claim(s) completed more than {expectation_days} days ago are still waiting.[/]"
        )


def print_report(console: Console, record: dict, timezone: str) -> None:
    console.print(
        f"[bold]Run {record['run_id']}[/] - {_status(record['status'])}" + (" (dry run)" if record["dry_run"] else "")
    )
    console.print(
        f"  as of {record['as_of']}, {record['trigger']} by {record['triggered_by']}, "
        f"started {local_time(record['started_at'], timezone)}, "
        f"finished {local_time(record['finished_at'], timezone)} ({timezone})"
    )
    if record["error"]:
        console.print(f"  [red]error: {record['error']}[/]")
    table = Table(title="Outcomes")
    table.add_column("outcome")
    table.add_column("claims", justify="right")
    for key, value in record["counts"].items():
        table.add_row(key, str(value))
    for key, value in record["carried_over"].items():
        if value:
            table.add_row(f"waiting from earlier runs: {key}", str(value))
    console.print(table)
    for kind, codes in record["reasons"].items():
        for code, n in codes.items():
            console.print(f"  {kind:9} {code:35} {n}")
    files = Table(title="Files")
    for name in ("role", "file", "where", "sha256"):
        files.add_column(name)
    for f in record["file_details"]:
        where = f["path"] or "-"
        if f["role"] in ("registry", "report") and not f["exists"]:
            where += " [red](missing)[/]"
        files.add_row(f["role"], f["file_name"], where, (f["sha256"] or "")[:12])
    console.print(files)
