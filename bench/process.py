"""The whole process: `cme-relay run ... --json` in a fresh environment, Prefect's start included."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from bench.measure import ROOT, Measured, run_child


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
