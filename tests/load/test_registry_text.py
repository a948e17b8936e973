"""The tab-delimited copy of a batch (Learner Template B)."""

from __future__ import annotations

import pandas as pd

from load.registry_file import registry_text
from schemas.registry_row import REGISTRY_FIELDS


def _rows(**overrides: list) -> pd.DataFrame:
    base = {name: [f"{name}-1", f"{name}-2"] for name in REGISTRY_FIELDS}
    return pd.DataFrame({**base, **overrides}).astype("string")


def test_every_field_in_template_order_tab_separated_crlf_and_no_header():
    text = registry_text(_rows()).decode("utf-8")
    assert text.endswith("\r\n") and text.count("\r\n") == 2
    first, second = text.split("\r\n")[:2]
    assert first.split("\t") == [f"{name}-1" for name in REGISTRY_FIELDS]
    assert second.split("\t") == [f"{name}-2" for name in REGISTRY_FIELDS]


def test_missing_values_keep_their_place_and_breaks_inside_values_become_spaces():
    last = REGISTRY_FIELDS[-1]
    rows = _rows(first_name=["Zoë\tAnn", None], last_name=["O'Hara\r\nJr", ""], **{last: [None, None]})
    lines = registry_text(rows).decode("utf-8").split("\r\n")
    first = lines[0].split("\t")
    assert len(first) == len(REGISTRY_FIELDS) and first[-1] == ""
    assert first[REGISTRY_FIELDS.index("first_name")] == "Zoë Ann"
    assert first[REGISTRY_FIELDS.index("last_name")] == "O'Hara  Jr"
    second = lines[1].split("\t")
    assert second[REGISTRY_FIELDS.index("first_name")] == "" and len(second) == len(REGISTRY_FIELDS)


def test_no_rows_is_an_empty_file():
    assert registry_text(_rows().iloc[0:0]) == b""
