"""Validation never carries learner identity into logs or exception messages."""

from __future__ import annotations

import logging

import pytest

from extract import ExtractError, read_activity_map, read_portal_export
from tests.factories import claim, judge_rows, write_export

IDENTITY = {
    "First Name": "Quillonia",
    "Last Name": "Vexbridgeham",
    "Email": "quillonia.vexbridgeham@example.org",
    "Date of Birth": "07/23/1966",
    "License Number": "ZQ998877",
    "NPI": "1709001014",
}
SECRETS = [v for v in IDENTITY.values()] + ["07/23", "Zq998877".upper()]


def _assert_clean(text: str) -> None:
    lowered = text.casefold()
    leaked = [s for s in SECRETS if s.casefold() in lowered]
    assert not leaked, leaked


def test_judging_a_batch_logs_no_identity(tmp_path, caplog):
    rows = [
        claim(**IDENTITY),
        claim(**{**IDENTITY, "Date of Birth": "02/30"}),  # INVALID_BIRTH_DATE
        claim(**{**IDENTITY, "NPI": "1709001015"}),  # INVALID_NPI
        claim(**{**IDENTITY, "First Name": "=Quillonia"}),  # FORMULA_LIKE_TEXT
        claim(**{**IDENTITY, "Completion Date": "not a date"}),
        claim(**{**IDENTITY, "Activity ID": "ACT-UNKNOWN"}),
    ]
    with caplog.at_level(logging.DEBUG):
        judged = judge_rows(tmp_path, rows)
    assert len(judged.claims) == len(rows)
    _assert_clean("\n".join(f"{r.name} {r.getMessage()} {r.args!r}" for r in caplog.records))
    # The reasons themselves are codes, never values.
    _assert_clean(" ".join(judged.claims["reason"].dropna()))


def test_a_missing_column_error_names_no_value(tmp_path, caplog):
    rows = [{k: v for k, v in claim(**IDENTITY).items() if k not in ("Credits", "Completion Date")}]
    with caplog.at_level(logging.DEBUG), pytest.raises(ExtractError) as info:
        read_portal_export(write_export(tmp_path / "export.csv", rows))
    _assert_clean(str(info.value))
    _assert_clean(repr(info.value.args))
    _assert_clean("\n".join(r.getMessage() for r in caplog.records))


def test_an_unreadable_file_error_names_no_value(tmp_path):
    path = tmp_path / "broken.csv"
    path.write_text('Claim ID,First Name\n"C1,"Quillonia\n"x', encoding="utf-8")
    with pytest.raises(ExtractError) as info:
        read_portal_export(path)
    _assert_clean(str(info.value))


def test_a_map_error_names_no_value(tmp_path):
    path = tmp_path / "map.csv"
    path.write_text("Title\nQuillonia Vexbridgeham course\n", encoding="utf-8")
    with pytest.raises(ExtractError) as info:
        read_activity_map(path)
    _assert_clean(str(info.value))
