"""`cme-relay check-mappings PATH`: every problem with its line, exit 1 if any, 0 if none."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from flows.cli import app

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"


def test_problems_exit_1_with_file_and_lines():
    result = CliRunner().invoke(app, ["check-mappings", str(SAMPLES / "activity_map_problems.csv")])
    assert result.exit_code == 1
    for line, code in [
        (2, "DUPLICATE_PORTAL_ID"),
        (3, "DUPLICATE_PORTAL_ID"),
        (4, "NON_DIGIT_ACCME_ID"),
        (5, "END_BEFORE_START"),
        (6, "NON_POSITIVE_MAX_CREDITS"),
        (7, "NON_POSITIVE_MAX_CREDITS"),
    ]:
        assert f"activity_map_problems.csv:{line}: {code}" in result.output


def test_problems_as_json():
    result = CliRunner().invoke(app, ["check-mappings", "--json", str(SAMPLES / "activity_map_problems.csv")])
    assert result.exit_code == 1
    problems = json.loads(result.output)["problems"]
    assert [p["source_line"] for p in problems] == [2, 3, 4, 5, 6, 7]


def test_a_clean_map_exits_0():
    result = CliRunner().invoke(app, ["check-mappings", str(SAMPLES / "activity_map.csv")])
    assert result.exit_code == 0, result.output
    assert "no problems" in result.output
