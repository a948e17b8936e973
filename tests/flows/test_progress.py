"""Issue 5: the progress display shows on a terminal and stays quiet everywhere else."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from flows.progress import FileProgress
from tests.conftest import SAMPLES

BAR_CHARACTERS = ("━", "files,", "reading exports", "\x1b[")


def _drive(console: Console) -> str:
    with FileProgress(2, console=console) as progress:
        progress.file_done("a.csv", 1200)
        progress.file_done("b.csv", 34)
    return console.file.getvalue()  # type: ignore[attr-defined]


def test_progress_draws_on_a_terminal():
    shown = _drive(Console(file=io.StringIO(), force_terminal=True, width=100))
    assert "reading exports" in shown and "1,234 rows" in shown and "2/2" in shown


def test_progress_is_silent_when_not_a_terminal():
    console = Console(file=io.StringIO(), force_terminal=False)
    assert not console.is_terminal
    progress = FileProgress(2, console=console)
    assert progress.enabled is False
    assert _drive(console) == ""


def test_progress_counts_rows_even_when_silent():
    with FileProgress(2, console=Console(file=io.StringIO(), force_terminal=False)) as progress:
        progress.file_done("a.csv", 10)
        progress.file_done("b.csv", 5)
    assert progress.rows == 15


@pytest.mark.flow
def test_a_real_run_prints_no_progress_when_output_is_not_a_terminal(run_flow, capfd):
    summary = run_flow(SAMPLES / "portal_export_biweekly.csv", SAMPLES / "portal_export_cp1252.csv")
    assert summary["status"] == "succeeded", summary["error"]
    captured = capfd.readouterr()
    for text in (captured.out, captured.err):
        assert not [c for c in BAR_CHARACTERS if c in text]
