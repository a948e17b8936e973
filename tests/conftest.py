"""Shared fixtures: a fresh ledger and folders per test, and a real Prefect flow run harness."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

# Prefect reads these when imported: a private home, no telemetry (no network), time for a cold start.
if "PREFECT_HOME" not in os.environ:
    os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="cme-relay-prefect-")
    # Removed when the session's process ends (after the Prefect server it started has stopped).
    atexit.register(shutil.rmtree, os.environ["PREFECT_HOME"], ignore_errors=True)
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
AS_OF = "2026-11-26"


@pytest.fixture
def samples() -> Path:
    return SAMPLES


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh SQLite ledger, inbox, outbox and reports folder, wired through CME_RELAY_* settings."""
    for name in ("inbox", "outbox", "reports"):
        (tmp_path / name).mkdir()
        monkeypatch.setenv(f"CME_RELAY_{name.upper()}", str(tmp_path / name))
    monkeypatch.setenv("CME_RELAY_DATABASE_URL", f"sqlite:///{tmp_path / 'ledger.db'}")
    monkeypatch.setenv("CME_RELAY_MAPPINGS", str(SAMPLES / "activity_map.csv"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="session")
def prefect_harness():
    """One temporary Prefect server for the session (about 12 s once, then about 1 s a flow run)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield


@pytest.fixture
def run_flow(prefect_harness, workspace):
    """Run the real `credit-reporting` flow; returns its `--json` summary (failed runs too)."""
    from flows.credit_reporting import credit_reporting, run_summary

    def _run(*exports: Path | str, mappings: Path | str | None = None, as_of: str = AS_OF, **kwargs) -> dict:
        state = credit_reporting(
            exports=[str(e) for e in exports] or None,
            mappings=str(mappings) if mappings else None,
            as_of=as_of,
            return_state=True,
            **kwargs,
        )
        return run_summary(state)

    return _run


def write_csv(path: Path, rows: list[dict]) -> Path:
    pd.DataFrame(rows).to_csv(path, index=False)
    return path
