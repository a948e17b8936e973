"""The scenario samples of data/samples judged as data/samples/README.md says (fresh ledger,
as-of 2026-11-26, cutoff 2023-07-01, activity_map.csv)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from extract import read_activity_map, read_portal_export
from schemas.portal_claim import CLAIM_FIELDS, SOURCE_COLUMNS
from tests.transform.helpers import AS_OF, CUTOFF
from transform.judge import JudgedRun, LedgerView, judge_run
from transform.mapping import usable_activity_map

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"


@pytest.fixture(scope="module")
def activity_map() -> pd.DataFrame:
    return usable_activity_map(read_activity_map(SAMPLES / "activity_map.csv"))


def judge_sample(name: str, activity_map: pd.DataFrame) -> JudgedRun:
    raw = read_portal_export(SAMPLES / name).assign(file_order=0)
    return judge_run(raw, activity_map, LedgerView.empty([*CLAIM_FIELDS, *SOURCE_COLUMNS]), cutoff=CUTOFF, as_of=AS_OF)


def reasons(judged: JudgedRun) -> dict[str, int]:
    return {str(k): int(v) for k, v in judged.claims["reason"].value_counts().items()}


@pytest.mark.parametrize(
    ("name", "rows"),
    [("portal_export_cp1252.csv", 6), ("portal_export_utf8_bom.csv", 5), ("portal_export_messy_headers.csv", 6)],
)
def test_clean_scenarios_submit_everything(activity_map, name, rows):
    judged = judge_sample(name, activity_map)
    assert judged.claims["outcome"].tolist() == ["submitted"] * rows
    assert len(judged.registry_rows) == rows


def test_date_forms_sample(activity_map):
    judged = judge_sample("portal_export_date_forms.csv", activity_map)
    claims = judged.claims.set_index("source_line")
    assert claims.loc[2:10, "outcome"].tolist() == ["submitted"] * 9
    assert claims.loc[11:13, "reason"].tolist() == ["INVALID_DATE", "INVALID_DATE", "MISSING_REQUIRED_FIELD"]
    sent = judged.registry_rows
    assert set(sent["completion_date"]) == {"03/05/2024"}
    assert sent["birth_mmdd"].tolist() == [
        "04/17",
        "02/29",
        "02/29",
        "02/09",
        "12/01",
        "06/15",
        "09/30",
        "10/10",
        "05/05",
    ]


def test_formula_names_sample(activity_map):
    judged = judge_sample("portal_export_formula_names.csv", activity_map)
    assert reasons(judged) == {"FORMULA_LIKE_TEXT": 5}
    assert (judged.claims["outcome"] == "submitted").sum() == 3
    sent = judged.registry_rows[["first_name", "last_name", "license_or_npi"]]
    assert not sent.apply(lambda col: col.str.match(r"^[=+\-@\t\r\n]").fillna(False)).any().any()


def test_duplicates_sample(activity_map):
    judged = judge_sample("portal_export_duplicates.csv", activity_map)
    got = judged.claims.groupby("claim_id")["reason"].agg(lambda s: sorted(s.dropna()))
    assert got["CLM-0700001"] == ["REPEATED_IN_INPUT"]
    assert got["CLM-0700002"] == ["CONFLICTING_DUPLICATE", "CONFLICTING_DUPLICATE"]
    assert got["CLM-0700004"] == ["DUPLICATE_COMPLETION"]
    # same learner and activity on another date, and the two sessions of one series: not duplicates
    submitted = set(judged.claims.loc[judged.claims["outcome"] == "submitted", "claim_id"])
    assert {"CLM-0700006", "CLM-0700007", "CLM-0700008"} <= submitted
    assert judged.claims["outcome"].value_counts().to_dict() == {"submitted": 6, "rejected": 3, "duplicate": 1}


def test_title_rows_sample(activity_map):
    judged = judge_sample("portal_export_title_rows.xlsx", activity_map)
    claims = judged.claims.set_index("claim_id")
    assert claims.loc["CLM-0800005", ["outcome", "reason"]].tolist() == ["rejected", "MISSING_REQUIRED_FIELD"]
    assert (claims["outcome"] == "submitted").sum() == 7
    sent = judged.registry_rows.set_index("claim_id")
    assert sent.loc["CLM-0800004", "license_or_npi"].isdigit()
    assert "CLM-0800005" not in sent.index


def test_biweekly_sample(activity_map):
    judged = judge_sample("portal_export_biweekly.csv", activity_map)
    claims = judged.claims
    assert claims["outcome"].value_counts().to_dict() == {"submitted": 195, "rejected": 35, "delayed": 20}
    assert reasons(judged) == {
        "ACTIVITY_NOT_MAPPED": 8,
        "ACTIVITY_NOT_REGISTERED": 6,
        "LEARNER_IDENTITY_INCOMPLETE": 6,
        "CLAIM_REVOKED": 2,
        "CREDITS_EXCEED_ACTIVITY_MAX": 2,
        "EARNED_BEFORE_CUTOFF": 12,
        "NOT_AMA_PRA_CATEGORY_1": 6,
        "NOT_PHYSICIAN": 12,
        "NO_REPORTING_CONSENT": 1,
    }
    by_id = claims.set_index("claim_id")
    # both sessions of the series (1 + 1 within the series' maximum 2)
    assert by_id.loc[["CLM-0000225", "CLM-0000097"], "outcome"].tolist() == ["submitted", "submitted"]
    # cumulative over CRS-0104's 1.5: the later completion is refused, not the earlier claim id
    assert by_id.loc["CLM-0000213", "outcome"] == "submitted"
    assert by_id.loc["CLM-0000053", "reason"] == "CREDITS_EXCEED_ACTIVITY_MAX"
    # no learner is sent more than an activity's maximum
    sent = claims[claims["outcome"] == "submitted"]
    totals = sent.groupby(["learner_id", "accme_activity_id"])["credits_value"].sum()
    maxima = activity_map.groupby("accme_activity_id")["max_credits_value"].sum()
    assert (totals <= totals.index.get_level_values(1).map(maxima).to_numpy() + 1e-9).all()


def test_a_broken_map_never_lets_its_broken_rows_through(tmp_path):
    from tests.factories import claim, write_export

    amap = usable_activity_map(read_activity_map(SAMPLES / "activity_map_problems.csv"))
    rows = [
        claim(**{"Claim ID": f"P{i}", "Activity ID": portal, "Credits": "1", "Completion Date": day})
        for i, (portal, day) in enumerate(
            [
                ("CRS-0101", "2024-06-01"),
                ("CRS-0301", "2024-06-01"),
                ("CRS-0302", "2024-04-15"),
                ("CRS-0303", "2024-06-01"),
                ("CRS-0304", "2024-06-02"),
                ("CRS-0305", "2024-06-03"),
            ]
        )
    ]
    raw = read_portal_export(write_export(tmp_path / "e.csv", rows)).assign(file_order=0)
    judged = judge_run(raw, amap, LedgerView.empty([*CLAIM_FIELDS, *SOURCE_COLUMNS]), cutoff=CUTOFF, as_of=AS_OF)
    got = dict(
        zip(
            judged.claims["claim_id"],
            zip(judged.claims["outcome"], judged.claims["reason"].fillna(""), strict=True),
            strict=True,
        )
    )
    assert got == {
        "P0": ("delayed", "ACTIVITY_NOT_MAPPED"),  # CRS-0101 is listed twice with different ACCME ids
        "P1": ("delayed", "ACTIVITY_NOT_REGISTERED"),  # ACCME id not digits
        "P2": ("delayed", "ACTIVITY_NOT_REGISTERED"),  # end before start
        "P3": ("delayed", "ACTIVITY_NOT_REGISTERED"),  # max 0
        "P4": ("delayed", "ACTIVITY_NOT_REGISTERED"),  # max -1
        "P5": ("submitted", ""),
    }
