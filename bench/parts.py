"""Entry point of a measured part: `python -m bench.parts NAME ARGS_JSON` (one per process).

Imports happen before the clock starts; the result is one `BENCH-RESULT {...}` line.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench.measure import emit, hwm_mb, reset_hwm


def _pipeline(args: dict) -> dict:
    from bench.pipeline import run_stages

    return run_stages(**args)


def _timed(action: Callable[[], object]) -> dict:
    reset_hwm()
    start, cpu = time.perf_counter(), time.process_time()
    action()
    return {"seconds": time.perf_counter() - start, "cpu_seconds": time.process_time() - cpu, "stage_peak_mb": hwm_mb()}


def _floor_read(args: dict) -> dict:
    from bench.floor import read_floor

    holder: dict = {}
    result = _timed(lambda: holder.setdefault("frame", read_floor(Path(args["export"]))))
    return {**result, "rows": len(holder["frame"])}


def _floor_sqlite(args: dict) -> dict:
    from bench.floor import read_floor, sqlite_floor

    frame = read_floor(Path(args["export"]))  # not timed: the read is its own floor part
    holder: dict = {}
    result = _timed(lambda: holder.setdefault("split", sqlite_floor(frame, Path(args["database"]))))
    return {**result, **holder["split"], "rows": len(frame)}


def _floor_xlsx(args: dict) -> dict:
    from bench.floor import read_floor, xlsx_floor

    frame = read_floor(Path(args["export"]))
    return {**_timed(lambda: xlsx_floor(frame, Path(args["workbook"]))), "rows": len(frame)}


def _baseline(args: dict) -> dict:
    from bench.baseline import office_script

    holder: dict = {}
    result = _timed(
        lambda: holder.setdefault(
            "counts",
            office_script(
                Path(args["export"]), Path(args["mappings"]), Path(args["database"]), Path(args["workbook"]),
                args["as_of"],
            ),
        )
    )  # fmt: skip
    return {**result, **holder["counts"]}


def _extract_steps(args: dict) -> dict:
    from bench.scale import extract_steps

    return extract_steps(Path(args["export"]))


def _extract_only(args: dict) -> dict:
    from extract import read_portal_export

    holder: dict = {}
    result = _timed(lambda: holder.setdefault("frame", read_portal_export(Path(args["export"]))))
    frame = holder["frame"]
    return {**result, "rows": len(frame), "frame_mb": frame.memory_usage(deep=True).sum() / 2**20}


PARTS: dict[str, Callable[[dict], dict]] = {
    "pipeline": _pipeline,
    "floor_read": _floor_read,
    "floor_sqlite": _floor_sqlite,
    "floor_xlsx": _floor_xlsx,
    "baseline": _baseline,
    "extract_only": _extract_only,
    "extract_steps": _extract_steps,
}


def main(argv: list[str]) -> None:
    name, args = argv[0], json.loads(argv[1]) if len(argv) > 1 else {}
    emit(PARTS[name](args))


if __name__ == "__main__":
    main(sys.argv[1:])
