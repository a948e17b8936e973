"""The activity map: every problem with its line (`check-mappings`), and the usable map the run takes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from extract import read_activity_map
from schemas.activity_map import ActivityMap
from tests.factories import MAP_ROWS, write_map
from transform.mapping import accme_max_credits, activity_map_problems, usable_activity_map

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"


def test_every_problem_of_the_sample_with_its_line():
    problems = activity_map_problems(read_activity_map(SAMPLES / "activity_map_problems.csv"))
    found = list(zip(problems["source_line"], problems["portal_activity_id"], problems["problem"], strict=True))
    assert found == [
        (2, "CRS-0101", "DUPLICATE_PORTAL_ID"),
        (3, "CRS-0101", "DUPLICATE_PORTAL_ID"),
        (4, "CRS-0301", "NON_DIGIT_ACCME_ID"),
        (5, "CRS-0302", "END_BEFORE_START"),
        (6, "CRS-0303", "NON_POSITIVE_MAX_CREDITS"),
        (7, "CRS-0304", "NON_POSITIVE_MAX_CREDITS"),
    ]
    assert set(problems["source_file"]) == {"activity_map_problems.csv"}
    assert problems["detail"].str.len().gt(10).all()


def test_a_clean_map_has_no_problems():
    for name in ("activity_map.csv", "activity_map.xlsx"):
        problems = activity_map_problems(read_activity_map(SAMPLES / name))
        assert problems.empty, problems
        assert list(problems.columns) == ["source_file", "source_line", "portal_activity_id", "problem", "detail"]


def test_bad_dates_non_numbers_and_missing_ids_are_problems(tmp_path):
    rows = [
        {**MAP_ROWS[0], "Start Date": "someday"},
        {**MAP_ROWS[1], "Max Credits": "lots"},
        {**MAP_ROWS[0], "Portal Activity ID": ""},
        {
            **MAP_ROWS[2],
            "Portal Activity ID": "ACT-3",
            "ACCME Activity ID": "202312345.0",
        },  # Excel's number form is fine
    ]
    problems = activity_map_problems(read_activity_map(write_map(tmp_path / "m.csv", rows)))
    assert list(zip(problems["source_line"], problems["problem"], strict=True)) == [
        (2, "INVALID_MAP_DATE"),
        (3, "NON_POSITIVE_MAX_CREDITS"),
        (4, "MISSING_PORTAL_ID"),
    ]


def test_the_usable_map_is_declared_valid_and_drops_nothing_of_a_clean_map():
    usable = usable_activity_map(read_activity_map(SAMPLES / "activity_map.csv"))
    ActivityMap.validate(usable, lazy=True)
    assert len(usable) == 9
    assert pd.isna(usable.set_index("portal_activity_id").loc["CRS-0105", "accme_activity_id"])


def test_identical_repeats_of_a_portal_id_are_used_once(tmp_path):
    usable = usable_activity_map(read_activity_map(write_map(tmp_path / "m.csv", [MAP_ROWS[0], MAP_ROWS[0]])))
    assert usable["portal_activity_id"].tolist() == ["ACT-1"]
    assert usable["accme_activity_id"].tolist() == ["202312345"]


def test_a_series_maximum_is_the_sum_of_its_sessions_unknown_if_one_is_unknown():
    frame = pd.DataFrame(
        {
            "portal_activity_id": ["S1", "S2", "T1", "T2", "U1"],
            "accme_activity_id": pd.Series(["1", "1", "2", "2", None], dtype="string"),
            "max_credits_value": [1.0, 1.5, 2.0, None, 3.0],
        }
    )
    maxima = accme_max_credits(frame)
    assert maxima["1"] == 2.5
    assert pd.isna(maxima["2"])
    assert len(maxima) == 2
