"""Report tests: a small ledger built row by row, and golden files that can be regenerated.

Regenerate the golden files after an intended change with
`CME_RELAY_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/load/reports`, then read the diff.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

from .ledger_fixture import build_ledger

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE_GOLDEN = os.environ.get("CME_RELAY_UPDATE_GOLDEN") == "1"


@pytest.fixture
def ledger(tmp_path: Path):  # type: ignore[no-untyped-def]
    return build_ledger(tmp_path)


@pytest.fixture
def ledger_with_open_run(tmp_path: Path):  # type: ignore[no-untyped-def]
    return build_ledger(tmp_path, open_run=True)


def check_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if UPDATE_GOLDEN:
        path.write_text(actual, encoding="utf-8")
        return
    assert path.exists(), f"missing golden file {name}: run with CME_RELAY_UPDATE_GOLDEN=1 once and review it"
    expected = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = difflib.unified_diff(expected.splitlines(), actual.splitlines(), "golden", "actual", lineterm="")
        pytest.fail(f"{name} differs from its golden file:\n" + "\n".join(list(diff)[:80]))
