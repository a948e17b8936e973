"""The benchmark's printed tables (Rich): parts with seconds, rows/s and peak RSS; ratios vs targets."""

from __future__ import annotations

import math

from rich.console import Console
from rich.table import Table

TARGETS = {
    "ratio_pipeline_floor": ("pipeline stages / floor", "<=", 2.0),
    "ratio_baseline_pipeline": ("baseline / pipeline (speed-up)", ">=", 2.5),
    "ratio_incremental_first": ("incremental (skip path) / first run", "<=", 0.3),
    "peak_rss_mb": ("peak RSS of the run, MB", "<=", 1536.0),
}


def _num(value: float | None, fmt: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return format(value, fmt)


def parts_table(rows: list[dict], title: str) -> Table:
    """`rows`: part, seconds, cpu_seconds, rows, peak_rss_mb, note (None for a heading row)."""
    table = Table(title=title, title_justify="left")
    table.add_column("part")
    table.add_column("seconds", justify="right")
    table.add_column("CPU s", justify="right")
    table.add_column("rows/s", justify="right")
    table.add_column("peak RSS MB", justify="right")
    table.add_column("note")
    for row in rows:
        if row.get("heading"):
            table.add_row(f"[bold]{row['part']}[/bold]", "", "", "", "", "")
            continue
        seconds, count = row.get("seconds"), row.get("rows")
        rate = count / seconds if seconds and count else None
        table.add_row(
            row["part"],
            _num(seconds, ".2f"),
            _num(row.get("cpu_seconds"), ".1f"),
            _num(rate, ",.0f"),
            _num(row.get("peak_rss_mb"), ",.0f"),
            row.get("note") or "",
        )
    return table


def ratios_table(summary: dict) -> Table:
    table = Table(title="targets (at 1,000,000 claims)", title_justify="left")
    for name in ("measure", "value", "target", "met"):
        table.add_column(name, justify="right" if name != "measure" else "left")
    for key, (label, op, target) in TARGETS.items():
        value = summary[key]
        met = value <= target if op == "<=" else value >= target
        table.add_row(label, f"{value:,.2f}", f"{op} {target:g}", "[green]yes[/green]" if met else "[red]no[/red]")
    return table


def show(console: Console, rows: list[dict], summary: dict, header: str) -> None:
    console.print(header)
    console.print(parts_table(rows, f"cme-relay benchmark, N = {summary['n']:,}"))
    console.print(ratios_table(summary))
