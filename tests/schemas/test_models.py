"""The pandera models of schemas/ hold for what extract and transform really produce, and refuse
what they must refuse."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pandera.pandas as pa
import pytest

from extract import read_activity_map, read_portal_export
from schemas.activity_map import ActivityMap
from schemas.portal_claim import RawClaim, TypedClaim
from schemas.registry_row import RegistryRow
from tests.factories import claim, judge_rows
from transform.mapping import usable_activity_map
from transform.validate import parse_claims

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"
EXPORTS = [
    "portal_export_biweekly.csv",
    "portal_export_date_forms.csv",
    "portal_export_title_rows.xlsx",
    "portal_export_cp1252.csv",
    "portal_export_formula_names.csv",
]


@pytest.mark.parametrize("name", EXPORTS)
def test_raw_and_typed_claims_of_every_sample_fit_their_models(name):
    raw = RawClaim.validate(read_portal_export(SAMPLES / name), lazy=True)
    typed = TypedClaim.validate(parse_claims(raw), lazy=True)
    assert len(typed) == len(raw)


def test_typed_model_refuses_a_birth_date_not_in_mm_dd():
    typed = parse_claims(read_portal_export(SAMPLES / "portal_export_date_forms.csv"))
    typed.loc[0, "birth_mmdd"] = "2/9"
    with pytest.raises(pa.errors.SchemaErrors):
        TypedClaim.validate(typed, lazy=True)


@pytest.mark.parametrize("name", ["activity_map.csv", "activity_map.xlsx", "activity_map_problems.csv"])
def test_the_usable_map_fits_its_model_even_from_a_broken_map(name):
    usable = ActivityMap.validate(usable_activity_map(read_activity_map(SAMPLES / name)), lazy=True)
    assert usable["portal_activity_id"].is_unique


def test_activity_map_model_refuses_what_a_run_must_not_use():
    good = usable_activity_map(read_activity_map(SAMPLES / "activity_map.csv"))
    for broken in (
        good.assign(accme_activity_id=good["accme_activity_id"].fillna("2023-ABC")),
        pd.concat([good, good.head(1)], ignore_index=True),
        good.assign(max_credits_value=0.0),
        good.assign(end=good["start"] - pd.Timedelta(days=1)),
    ):
        with pytest.raises(pa.errors.SchemaErrors):
            ActivityMap.validate(broken, lazy=True)


def test_registry_add_rows_fit_the_registry_model(tmp_path):
    rows = [claim(), claim(**{"NPI": None}), claim(**{"License State": "New York", "Date of Birth": "02/29"})]
    adds = judge_rows(tmp_path, rows).registry_rows
    assert adds["action"].tolist() == ["Add"] * 3
    # The model declares credits as a number; the rows carry the exact text sent ("1.5").
    RegistryRow.validate(adds.astype({"credits": "float64"}), lazy=True)
    assert adds["license_or_npi"].tolist() == ["1234567893", "A12345", "1234567893"]  # NPI preferred
