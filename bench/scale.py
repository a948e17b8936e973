"""Past a million rows: a large export built from copies, and where extract's memory goes.

    BENCH_N=10000000 python -m bench.scale

writes a 10M-row export (copies of one generated million with renumbered claim ids; generating
is not measured), then reads it with `extract.read_portal_export` alone in one process and,
in another, step by step (encoding detection, delimiter sniffing, read_csv, canonical frame),
printing each step's seconds and peak RSS.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pandas as pd

from bench.measure import hwm_mb, reset_hwm, rss_mb, run_part

COPY_ROWS = 1_000_000


def write_large_export(path: Path, n: int, seed_frame: pd.DataFrame) -> Path:
    """`n` rows: `seed_frame` repeated, claim ids renumbered so every claim is distinct."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    path.parent.mkdir(parents=True, exist_ok=True)
    options = pcsv.WriteOptions(quoting_style="needed")
    base = pa.Table.from_pandas(seed_frame, preserve_index=False)
    writer = None
    written = 0
    with open(path, "wb") as sink:
        while written < n:
            take = min(len(seed_frame), n - written)
            ids = pa.array([f"CLM-{i:09d}" for i in range(written + 1, written + take + 1)], pa.string())
            part = base.slice(0, take).set_column(0, "Claim ID", ids)
            if writer is None:
                writer = pcsv.CSVWriter(sink, part.schema, write_options=options)
            writer.write_table(part)
            written += take
        if writer is not None:
            writer.close()
    return path


def extract_steps(path: Path) -> dict:
    """read_portal_export's steps one by one (the same calls), each with its seconds and peak RSS."""
    from extract.portal_export import canonical_frame
    from extract.tables import detect_encoding, sniff_delimiter
    from schemas.portal_claim import CLAIM_FIELDS, CLAIM_HEADERS, REQUIRED_CLAIM_FIELDS

    steps = []

    def step(name: str, action):  # type: ignore[no-untyped-def]
        reset_hwm()
        start = time.perf_counter()
        value = action()
        steps.append(
            {"step": name, "seconds": time.perf_counter() - start, "peak_mb": hwm_mb(), "rss_after_mb": rss_mb()}
        )
        return value

    steps.append({"step": "interpreter + imports", "seconds": 0.0, "peak_mb": hwm_mb(), "rss_after_mb": rss_mb()})
    encoding = step("detect_encoding (checked in 16 MB chunks)", lambda: detect_encoding(path))
    sep = step("sniff_delimiter", lambda: sniff_delimiter(path, encoding))
    table = step(
        "pandas.read_csv(dtype=str, keep_default_na=False)",
        lambda: pd.read_csv(path, dtype=str, encoding=encoding, sep=sep, keep_default_na=False, skip_blank_lines=False),
    )
    table_mb = table.memory_usage(deep=True).sum() / 2**20
    frame = step(
        "canonical_frame (strip, mask, blank rows)",
        lambda: canonical_frame(path, table, 2, CLAIM_HEADERS, REQUIRED_CLAIM_FIELDS, CLAIM_FIELDS),
    )
    frame_mb = frame.memory_usage(deep=True).sum() / 2**20
    return {"steps": steps, "rows": len(frame), "table_mb": table_mb, "frame_mb": frame_mb,
            "file_mb": path.stat().st_size / 2**20}  # fmt: skip


def main() -> None:
    from bench.synthetic import make_activity_map, make_portal_export

    n = int(os.environ.get("BENCH_N", "10000000"))
    work = Path(os.environ.get("BENCH_WORK", Path(__file__).resolve().parent / "results" / "work")) / f"scale-{n}"
    export = work / "portal_export.csv"
    if not export.exists():
        seed = make_portal_export(min(n, COPY_ROWS), make_activity_map(400))
        seed = seed.assign(Credits=seed["Credits"].astype(str))
        write_large_export(export, n, seed)
    print(f"export: {export} ({export.stat().st_size / 2**20:.0f} MB, {n} rows); load {os.getloadavg()[0]:.1f}")
    whole = run_part("extract_only", {"export": str(export)})
    print(f"read_portal_export alone: {whole.wall_seconds:.1f} s wall, peak RSS {whole.peak_rss_mb:.0f} MB")
    print(json.dumps(whole.result))
    steps = run_part("extract_steps", {"export": str(export)})
    print(f"step by step: peak RSS {steps.peak_rss_mb:.0f} MB")
    for s in steps.result["steps"]:
        print(
            f"  {s['step']:<52} {s['seconds']:7.1f} s  peak {s['peak_mb']:7.0f} MB  after {s['rss_after_mb']:7.0f} MB"
        )
    print(json.dumps({k: v for k, v in steps.result.items() if k != "steps"}))


if __name__ == "__main__":
    main()
