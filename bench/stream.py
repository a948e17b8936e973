"""`make bench-stream`: an export too large to hold, streamed and judged in partitions (issue 7).

    BENCH_STREAM_N=10000000 .venv/bin/python -m bench.stream [--keep]

Generates a synthetic export of N claims (not timed), then runs `cme-relay run --json` on it in a
fresh environment twice: the first run, and a run with nothing new (the same file again, skipped
by its checksum; the waiting claims are judged again). Each run's wall time and whole-process peak
RSS are measured. The last line is one JSON object with exactly STREAM_KEYS, also appended to
RESULTS/stream_history.jsonl. The target: peak RSS under 2 GB at 10,000,000 claims.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.process import call_apart, run_cli
from bench.run import ACTIVITIES, AS_OF, as_text_numbers, git_commit, results_dir

STREAM_KEYS = (
    "n",
    "export_mb",
    "first_seconds",
    "first_peak_rss_mb",
    "incremental_seconds",
    "incremental_peak_rss_mb",
    "submitted",
    "delayed",
    "rejected",
)
TARGET_RSS_MB = 2048


def generate(work: Path, n: int) -> tuple[Path, Path]:
    """`write_export` in a process of its own (`bench.process.call_apart`): making ten million
    claims takes gigabytes that the measured runs would otherwise report as theirs."""
    export, mappings = call_apart("bench.stream", "write_export", str(work), n)
    return Path(export), Path(mappings)


def write_export(work: Path | str, n: int) -> tuple[Path, Path]:
    from bench.synthetic import make_activity_map, make_portal_export, write_csv

    work = Path(work)

    amap = make_activity_map(ACTIVITIES)
    mappings = write_csv(as_text_numbers(amap), work / "activity_map.csv", engine="arrow")
    export = make_portal_export(n, amap, as_of=AS_OF)
    path = write_csv(as_text_numbers(export), work / "portal_export.csv", engine="arrow")
    return path, mappings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stream", description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=int(os.environ.get("BENCH_STREAM_N", "10000000")))
    parser.add_argument("--keep", action="store_true", help="keep the work folder (export, ledger, outputs)")
    args = parser.parse_args(argv)
    console = Console(stderr=True)
    work = Path(tempfile.mkdtemp(prefix="cme-relay-bench-stream-"))
    try:
        console.print(f"N = {args.n:,}; generating the export in {work} (not timed)")
        export, mappings = generate(work, args.n)
        streamed = {"CME_RELAY_STREAM_ABOVE_MB": "0"}  # whatever N: this measures the streamed path
        first = run_cli(export, mappings, work / "run", AS_OF, streamed)
        again = run_cli(export, mappings, work / "run", AS_OF, streamed)
        counts = first.result["counts"]
        summary = {
            "n": args.n,
            "export_mb": round(export.stat().st_size / 1e6, 1),
            "first_seconds": round(first.wall_seconds, 1),
            "first_peak_rss_mb": round(first.peak_rss_mb, 1),
            "incremental_seconds": round(again.wall_seconds, 1),
            "incremental_peak_rss_mb": round(again.peak_rss_mb, 1),
            "submitted": counts["submitted"],
            "delayed": counts["delayed"],
            "rejected": counts["rejected"],
        }
        table = Table("run", "seconds", "claims/s", "peak RSS MB", f"under {TARGET_RSS_MB} MB")
        for name, measured in (("first", first), ("nothing new", again)):
            rate = f"{args.n / measured.wall_seconds:,.0f}" if name == "first" else "-"
            ok = "yes" if measured.peak_rss_mb < TARGET_RSS_MB else "NO"
            table.add_row(name, f"{measured.wall_seconds:.1f}", rate, f"{measured.peak_rss_mb:,.0f}", ok)
        console.print(table)
        record = {"at": datetime.now(UTC).isoformat(), "commit": git_commit(), "load": os.getloadavg()[0], **summary}
        results_dir().mkdir(parents=True, exist_ok=True)
        with open(results_dir() / "stream_history.jsonl", "a") as fh:
            fh.write(json.dumps(record) + "\n")
        print(json.dumps(summary))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
