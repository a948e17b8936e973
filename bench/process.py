"""The whole process: `cme-relay run ... --json` in a fresh environment, Prefect's start included."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.measure import ROOT, Measured, run_child


def call_apart(module: str, function: str, *args: object) -> Any:
    """`module.function(*args)` in a Python process of its own; its result back through JSON (paths
    as text). For making exports: a child's peak RSS starts from its parent's at the fork, so a
    parent that made a big export itself would lift every measured child's peak to its own."""
    code = (
        "import importlib, json, sys; "
        "f = getattr(importlib.import_module(sys.argv[1]), sys.argv[2]); "
        "print(json.dumps(f(*json.loads(sys.argv[3])), default=str))"
    )
    argv = [sys.executable, "-c", code, module, function, json.dumps(args, default=str)]
    done = subprocess.run(argv, check=True, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    return json.loads(done.stdout.splitlines()[-1])


def cli_env(folder: Path) -> dict[str, str]:
    """CME_RELAY_* pointing into `folder` (fresh ledger and folders), a private Prefect home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CME_RELAY_", "PREFECT_"))}
    for name in ("inbox", "outbox", "reports"):
        (folder / name).mkdir(parents=True, exist_ok=True)
        env[f"CME_RELAY_{name.upper()}"] = str(folder / name)
    env["CME_RELAY_DATABASE_URL"] = f"sqlite:///{folder / 'ledger.db'}"
    env["PREFECT_HOME"] = str(folder / "prefect")
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    env["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "90"
    env["PREFECT_LOGGING_LEVEL"] = "WARNING"
    return env


def run_cli(export: Path, mappings: Path, folder: Path, as_of: str, settings: dict[str, str] | None = None) -> Measured:
    """Wall time and peak RSS (the CLI and the reaped server process, whichever peaked higher);
    `settings`: CME_RELAY_* values on top of the fresh environment's."""
    executable = Path(sys.executable).parent / "cme-relay"
    argv = [str(executable), "run", "--export", str(export), "--mappings", str(mappings), "--as-of", as_of, "--json"]
    wall, peak, cpu, code, out, err = run_child(argv, env={**cli_env(folder), **(settings or {})}, cwd=folder)
    summary = _last_json(out)
    if code != 0 or summary is None:
        tail = "\n".join(err.strip().splitlines()[-25:])
        said = summary.get("error") if summary else None
        raise RuntimeError(f"cme-relay run failed (exit {code}, error {said!r}):\n{tail}")
    return Measured("process", wall, peak, cpu, summary)


def _last_json(out: str) -> dict | None:
    """The last JSON object printed (the CLI prints it indented, over several lines)."""
    lines = out.splitlines()
    for start in range(len(lines) - 1, -1, -1):
        if lines[start].startswith("{"):
            try:
                return json.loads("\n".join(lines[start:]))
            except json.JSONDecodeError:
                continue
    return None


__all__ = ["ROOT", "cli_env", "run_cli"]
