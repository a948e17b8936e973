"""Measuring a part of the benchmark in its own process: wall time and peak RSS.

Each part runs as `python -m bench.parts NAME ARGS_JSON` so its peak RSS is its own; the parent
reaps it with `os.wait4`, whose rusage covers that child alone (and the descendants it reaped),
unlike RUSAGE_CHILDREN, which keeps the maximum over every child so far.
Inside a part, `stage()` resets the kernel's high-water mark (/proc/self/clear_refs) so each
stage of the pipeline gets its own peak too.
"""

from __future__ import annotations

import cProfile
import json
import os
import pstats
import re
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULT_PREFIX = "BENCH-RESULT "


@dataclass
class Measured:
    """What a child process reported, plus what the parent saw of it."""

    name: str
    wall_seconds: float
    peak_rss_mb: float
    cpu_seconds: float  # user + system of the child: less sensitive than wall time to a busy machine
    result: dict = field(default_factory=dict)


def _kib_field(name: str) -> float:
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return float("nan")
    found = re.search(rf"^{name}:\s+(\d+)\s+kB", status, re.MULTILINE)
    return int(found.group(1)) / 1024 if found else float("nan")


def load_average() -> float:
    return os.getloadavg()[0]


def rss_mb() -> float:
    return _kib_field("VmRSS")


def hwm_mb() -> float:
    """Peak RSS of this process since start or since the last `reset_hwm()`."""
    return _kib_field("VmHWM")


def reset_hwm() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


class Stages:
    """Seconds and peak RSS of consecutive stages inside one process."""

    def __init__(self, profile_dir: Path | None = None) -> None:
        self.rows: list[dict] = []
        self.profile_dir = profile_dir  # set: each stage is also profiled (cProfile), which slows it

    @contextmanager
    def stage(self, name: str, rows: int | None = None) -> Iterator[dict]:
        reset_hwm()
        info: dict = {"stage": name, "rows": rows}
        profiler = cProfile.Profile() if self.profile_dir else None
        start, cpu = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        try:
            yield info
        finally:
            if profiler:
                profiler.disable()
            info["seconds"] = time.perf_counter() - start
            info["cpu_seconds"] = time.process_time() - cpu
            if profiler and self.profile_dir:
                _dump_profile(profiler, self.profile_dir, len(self.rows), name)
            info["peak_rss_mb"] = hwm_mb()
            info["rss_after_mb"] = rss_mb()
            self.rows.append(info)

    @property
    def total_seconds(self) -> float:
        return sum(r["seconds"] for r in self.rows)


def _dump_profile(profiler: cProfile.Profile, folder: Path, number: int, name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{number:02d}-" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40]
    profiler.dump_stats(folder / f"{stem}.prof")
    with open(folder / f"{stem}.txt", "w", encoding="utf-8") as out:
        stats = pstats.Stats(profiler, stream=out).strip_dirs()
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(40)


def emit(result: Mapping) -> None:
    """The child's result: one prefixed JSON line on stdout (the parent takes the last one)."""
    print(RESULT_PREFIX + json.dumps(result, default=str), flush=True)


def run_child(
    argv: list[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None, timeout: float = 7200
) -> tuple[float, float, float, int, str, str]:
    """Run `argv`; returns wall seconds, peak RSS MB and CPU seconds (wait4), exit code, stdout, stderr."""
    start = time.perf_counter()
    with (
        open(os.devnull, "rb") as stdin,
        _tempfile("out") as out,
        _tempfile("err") as err,
    ):
        proc = subprocess.Popen(argv, stdin=stdin, stdout=out, stderr=err, env=dict(env or os.environ), cwd=cwd)
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.02)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        cpu = usage.ru_utime + usage.ru_stime
        return wall, usage.ru_maxrss / 1024, cpu, proc.returncode, out.read().decode(), err.read().decode()


@contextmanager
def _tempfile(tag: str) -> Iterator:
    import tempfile

    with tempfile.TemporaryFile(prefix=f"bench-{tag}-") as fh:
        yield fh


def run_part(name: str, args: Mapping, *, timeout: float = 7200) -> Measured:
    """Run one part (`bench.parts`) in a fresh interpreter and collect its result."""
    argv = [sys.executable, "-m", "bench.parts", name, json.dumps(dict(args), default=str)]
    wall, peak, cpu, code, out, err = run_child(argv, cwd=ROOT, timeout=timeout)
    lines = [line for line in out.splitlines() if line.startswith(RESULT_PREFIX)]
    if code != 0 or not lines:
        tail = "\n".join(err.strip().splitlines()[-25:])
        raise RuntimeError(f"bench part {name!r} failed (exit {code}):\n{tail}")
    result = json.loads(lines[-1][len(RESULT_PREFIX) :])
    # A reset of the high-water mark inside the child lowers what wait4 reports too: the part's
    # peak is the highest of wait4's figure and those taken inside it before each reset.
    inside = [s.get("peak_rss_mb", 0.0) for s in result.get("stages", [])] + [result.get("stage_peak_mb", 0.0)]
    return Measured(name, wall, max(peak, *inside), cpu, result)
