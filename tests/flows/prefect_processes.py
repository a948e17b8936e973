"""A real local Prefect server and process workers for tests, each started in its own process group.

A process worker starts each flow run in a process group of its own, so stopping a worker's group
is not enough: `stop_all` first collects every descendant (from /proc), then ends all their
groups. Output goes to a file (a pipe nobody reads would block a chatty worker).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.load.ledger.pgserver import free_port  # one helper for a free local port

PREFECT = [sys.executable, "-m", "prefect"]


def prefect_env(home: Path, api_url: str | None = None, **extra: str) -> dict[str, str]:
    """This environment without any Prefect or cme-relay settings of its own, plus a private home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "CME_RELAY_"))}
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_UI_ENABLED="false",
        PREFECT_UI_ENABLED="false",
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="90",
    )
    if api_url:
        env["PREFECT_API_URL"] = api_url
    env.update(extra)
    return env


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def descendants(pid: int) -> list[int]:
    tree, found, todo = _children(), [], [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


@dataclass
class Spawned:
    name: str
    popen: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def process_groups(self) -> set[int]:
        groups = {self.popen.pid}
        for pid in descendants(self.popen.pid):
            with contextlib.suppress(ProcessLookupError):
                groups.add(os.getpgid(pid))
        return groups


def stop_all(spawned: list[Spawned], grace: float = 5.0) -> None:
    """SIGTERM every process group of these processes at once, then SIGKILL the groups after at
    most `grace` seconds (a flow run's group can outlive its worker)."""
    groups = {group for s in spawned for group in s.process_groups()}
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for group in groups:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, sig)
        deadline = time.monotonic() + grace
        for s in spawned:
            with contextlib.suppress(subprocess.TimeoutExpired):
                s.popen.wait(max(0.1, deadline - time.monotonic()))


def spawn(name: str, args: list[str], env: dict[str, str], cwd: Path, logs: Path) -> Spawned:
    log = logs / f"{name}.log"
    with log.open("wb") as out:
        popen = subprocess.Popen(
            args,
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    return Spawned(name, popen, log)


def wait_healthy(server: Spawned, api_url: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.popen.poll() is not None:
            raise RuntimeError(f"prefect server exited ({server.popen.returncode}): {server.output()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{api_url}/health", timeout=2).status_code == 200:
                return
        time.sleep(0.5)
    raise RuntimeError(f"prefect server not healthy after {timeout:.0f} s: {server.output()[-3000:]}")


def start_server(folder: Path, logs: Path) -> tuple[str, Spawned]:
    """`prefect server start` on a free port with its own home (and SQLite database); its API URL.

    Not waited for: the caller does other work while it boots, then calls `wait_healthy`.
    """
    port = free_port()
    args = [*PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    env = prefect_env(folder / "server-home", PREFECT_SERVER_LOGGING_LEVEL="WARNING")
    return f"http://127.0.0.1:{port}/api", spawn("prefect-server", args, env, folder, logs)
