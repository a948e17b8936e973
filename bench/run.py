"""`make bench`: the pipeline against the floor, the row-by-row baseline and itself (issue 7).

    BENCH_N=1000000 .venv/bin/python -m bench.run [--profile] [--keep]

Every measured part runs in its own process (bench.parts) so its peak RSS is its own. Prints
a table, then, as its LAST line, one JSON object with exactly SUMMARY_KEYS, which is also
appended (with a timestamp, the git commit and the machine's load) to RESULTS/history.jsonl.
BENCH_RESULTS_DIR moves the results folder (tests use a temporary one).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from bench.measure import ROOT, Measured, run_part
from bench.process import call_apart, run_cli
from bench.table import show

AS_OF = "2026-11-26"
ACTIVITIES = 400
BASELINE_ROWS = 20_000
SUMMARY_KEYS = (
    "n",
    "pipeline_seconds",
    "process_seconds",
    "floor_seconds",
    "baseline_seconds_scaled",
    "incremental_seconds",
    "peak_rss_mb",
    "ratio_pipeline_floor",
    "ratio_baseline_pipeline",
    "ratio_incremental_first",
)


def results_dir() -> Path:
    return Path(os.environ.get("BENCH_RESULTS_DIR") or ROOT / "bench" / "results")


def generate(work: Path | str, n: int) -> dict[str, Path]:
    work = Path(work)
    """The synthetic export, the map, the baseline's subset and a re-exported copy (not timed).

    Arrow writes the CSV ~20x faster than pandas; with numbers pre-formatted as pandas would
    (2.0, not 2) its output reads back through read_portal_export identically (tested).
    """
    from bench.synthetic import make_activity_map, make_portal_export, write_csv

    amap = make_activity_map(ACTIVITIES)
    export = make_portal_export(n, amap, as_of=AS_OF)
    paths = {
        "mappings": write_csv(as_text_numbers(amap), work / "activity_map.csv", engine="arrow"),
        "export": write_csv(as_text_numbers(export), work / "portal_export.csv", engine="arrow"),
    }
    # The baseline runs on a random subset (the export is in claim order, oldest first).
    subset = export.sample(min(n, BASELINE_ROWS), random_state=1).sort_index()
    paths["subset"] = write_csv(as_text_numbers(subset), work / "baseline_subset.csv", engine="arrow")
    # A re-export of the same claims: other bytes (a trailing blank line, dropped on reading).
    paths["reexport"] = work / "portal_export_reexported.csv"
    shutil.copyfile(paths["export"], paths["reexport"])
    with open(paths["reexport"], "ab") as fh:
        fh.write(b"\n")
    return paths


def generate_apart(work: Path, n: int) -> dict[str, Path]:
    """`generate` in a process of its own (`bench.process.call_apart`)."""
    return {name: Path(path) for name, path in call_apart("bench.run", "generate", str(work), n).items()}


def as_text_numbers(frame):  # type: ignore[no-untyped-def]
    import pandas as pd

    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    return frame.assign(**{c: frame[c].astype(str) for c in numeric})


def copy_ledger(source: Path, target: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{source}{suffix}").exists():
            shutil.copyfile(f"{source}{suffix}", f"{target}{suffix}")


def pipeline_args(work: Path, name: str, export: Path, mappings: Path, **extra: object) -> dict:
    folder = work / name
    folder.mkdir(parents=True, exist_ok=True)
    return {
        "export": str(export),
        "mappings": str(mappings),
        "database_url": f"sqlite:///{work / 'ledgers' / (name + '.db')}",
        "outbox": str(folder / "outbox"),
        "reports": str(folder / "reports"),
        "as_of": AS_OF,
        **extra,
    }


def stage_rows(measured: Measured) -> list[dict]:
    rows = [
        {"part": "  " + s["stage"], "seconds": s["seconds"], "cpu_seconds": s["cpu_seconds"], "rows": s["rows"],
         "peak_rss_mb": s["peak_rss_mb"]}
        for s in measured.result["stages"]
    ]  # fmt: skip
    return rows


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=ROOT, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--profile", action="store_true", help="also profile each stage (cProfile, separate run)")
    parser.add_argument("--keep", action="store_true", help="keep the generated files and ledgers")
    args = parser.parse_args(argv)
    n = int(os.environ.get("BENCH_N", "1000000"))
    console = Console(width=150, highlight=False)
    results = results_dir()
    work = results / "work" / f"n{n}"
    shutil.rmtree(work, ignore_errors=True)
    (work / "ledgers").mkdir(parents=True)
    load_before = os.getloadavg()
    console.print(f"N = {n:,}; {os.cpu_count()} CPUs; load average {load_before[0]:.2f} {load_before[1]:.2f}")
    files = generate_apart(work, n)

    first = run_part("pipeline", pipeline_args(work, "first", files["export"], files["mappings"]))
    ledger = work / "ledgers" / "first.db"
    copy_ledger(ledger, work / "ledgers" / "skip.db")
    copy_ledger(ledger, work / "ledgers" / "reexport.db")
    skip = run_part("pipeline", pipeline_args(work, "skip", files["export"], files["mappings"]))
    again = run_part("pipeline", pipeline_args(work, "reexport", files["reexport"], files["mappings"]))
    process = run_cli(files["export"], files["mappings"], work / "process", AS_OF)
    floor_read = run_part("floor_read", {"export": str(files["export"])})
    floor_sqlite = run_part("floor_sqlite", {"export": str(files["export"]), "database": str(work / "floor.db")})
    floor_xlsx = run_part("floor_xlsx", {"export": str(files["export"]), "workbook": str(work / "floor.xlsx")})
    baseline = run_part(
        "baseline",
        {"export": str(files["subset"]), "mappings": str(files["mappings"]), "database": str(work / "baseline.db"),
         "workbook": str(work / "baseline.xlsx"), "as_of": AS_OF},
    )  # fmt: skip
    if args.profile:
        profiled = run_part("pipeline", pipeline_args(work, "profiled", files["export"], files["mappings"],
                                                      profile_dir=str(results / f"profile-n{n}")))  # fmt: skip
        console.print(f"profiles (cProfile, {profiled.result['seconds']:.1f} s profiled): {results / f'profile-n{n}'}")
    load_after = os.getloadavg()

    checks = consistency(first, skip, again, process)
    pipeline_s = first.result["seconds"]
    floor_parts = [floor_read, floor_sqlite, floor_xlsx]
    floor_s = sum(p.result["seconds"] for p in floor_parts)
    scaled = baseline.result["seconds"] * n / baseline.result["rows"]
    incremental_s = skip.result["seconds"]
    peak = max(first.peak_rss_mb, process.peak_rss_mb)
    summary = {
        "n": n,
        "pipeline_seconds": round(pipeline_s, 3),
        "process_seconds": round(process.wall_seconds, 3),
        "floor_seconds": round(floor_s, 3),
        "baseline_seconds_scaled": round(scaled, 3),
        "incremental_seconds": round(incremental_s, 3),
        "peak_rss_mb": round(peak, 1),
        "ratio_pipeline_floor": round(pipeline_s / floor_s, 3),
        "ratio_baseline_pipeline": round(scaled / pipeline_s, 3),
        "ratio_incremental_first": round(incremental_s / pipeline_s, 3),
    }
    rows = [
        {"part": "pipeline, first run (stages, no Prefect)", "heading": True},
        *stage_rows(first),
        {"part": "pipeline stages together", "seconds": pipeline_s, "cpu_seconds": first.cpu_seconds, "rows": n,
         "peak_rss_mb": first.peak_rss_mb, "note": f"process wall {first.wall_seconds:.1f} s incl. imports"},
        {"part": "whole process: cme-relay run --json", "seconds": process.wall_seconds,
         "cpu_seconds": process.cpu_seconds, "rows": n, "peak_rss_mb": process.peak_rss_mb,
         "note": "cold Prefect start (fresh PREFECT_HOME)"},
        {"part": "floor", "heading": True},
        {"part": "  pandas.read_csv(dtype=str)", **_part(floor_read)},
        {"part": "  sqlite3 executemany (1 tx)", **_part(floor_sqlite),
         "note": f"frame->tuples {floor_sqlite.result['convert_seconds']:.1f} s + "
                 f"insert {floor_sqlite.result['insert_seconds']:.1f} s"},
        {"part": "  inline-string XLSX, deflate 6", **_part(floor_xlsx), "note": "18 columns, every row"},
        {"part": "floor together", "seconds": floor_s, "rows": n,
         "peak_rss_mb": max(p.peak_rss_mb for p in floor_parts)},
        {"part": "baseline (row by row)", "heading": True},
        {"part": f"  office script on {baseline.result['rows']:,} rows", **_part(baseline),
         "note": f"{baseline.result['sent']:,} rows sent"},
        {"part": "  scaled to N", "seconds": scaled, "rows": n},
        {"part": "incremental (nothing new)", "heading": True},
        *[dict(r, part="  skip: " + r["part"].strip()) for r in stage_rows(skip)],
        {"part": "skip path together (in the ratio)", "seconds": incremental_s, "cpu_seconds": skip.cpu_seconds,
         "rows": n, "peak_rss_mb": skip.peak_rss_mb, "note": "same file: skipped by checksum"},
        {"part": "re-exported copy together", "seconds": again.result["seconds"], "cpu_seconds": again.cpu_seconds,
         "rows": n, "peak_rss_mb": again.peak_rss_mb,
         "note": f"other checksum, same claims: {again.result['counts']['unchanged']:,} unchanged"},
    ]  # fmt: skip
    # CPU seconds are steadier than wall time on a shared machine: the same ratio on them, for context.
    pipeline_cpu = sum(s["cpu_seconds"] for s in first.result["stages"])
    floor_cpu = sum(p.result["cpu_seconds"] for p in floor_parts)
    header = (
        f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} ({os.cpu_count()} CPUs, shared); "
        f"on CPU seconds: pipeline {pipeline_cpu:.1f} / floor {floor_cpu:.1f} = {pipeline_cpu / floor_cpu:.2f}"
    )
    show(console, rows, summary, header)
    for problem in checks:
        console.print(f"[red]check failed:[/red] {problem}")
    record = {**summary, "timestamp": datetime.now(UTC).isoformat(timespec="seconds"), "git_commit": git_commit(),
              "load_before": load_before[0], "load_after": load_after[0], "cpus": os.cpu_count(),
              "process_cpu_seconds": round(process.cpu_seconds, 1), "pipeline_cpu_seconds": round(pipeline_cpu, 1),
              "floor_cpu_seconds": round(floor_cpu, 1), "checks_failed": checks,
              "stages": {s["stage"]: round(s["seconds"], 3) for s in first.result["stages"]}}  # fmt: skip
    results.mkdir(parents=True, exist_ok=True)
    with open(results / "history.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    sys.stdout.flush()
    print(json.dumps({k: summary[k] for k in SUMMARY_KEYS}), flush=True)
    return 1 if checks else 0


def _part(measured: Measured) -> dict:
    return {"seconds": measured.result["seconds"], "cpu_seconds": measured.result.get("cpu_seconds"),
            "rows": measured.result.get("rows"), "peak_rss_mb": measured.peak_rss_mb}  # fmt: skip


def consistency(first: Measured, skip: Measured, again: Measured, process: Measured) -> list[str]:
    """What must hold for the figures to mean anything: the mirror and the CLI agree, and so on."""
    problems = []
    counts = first.result["counts"]
    if process.result.get("status") != "succeeded":
        problems.append(f"cme-relay run status {process.result.get('status')!r}: {process.result.get('error')}")
    elif process.result.get("counts") != counts:
        problems.append(f"the CLI's counts differ from the stages': {process.result.get('counts')} != {counts}")
    for measured in (first, skip, again):
        if measured.result.get("report_error"):
            problems.append(f"report failed in {measured.name}: {measured.result['report_error']}")
    if not skip.result["skipped_export"] or skip.result["input_rows"] != 0:
        problems.append("the second run did not skip the already-ingested export")
    fresh = again.result["counts"]
    if fresh["submitted"] or fresh["corrected"]:
        problems.append(f"the re-exported copy sent claims again: {fresh}")
    return problems


if __name__ == "__main__":
    raise SystemExit(main())
