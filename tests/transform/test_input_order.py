"""Judging does not depend on the order of the input rows (the fast paths for exports already in
claim-id order must agree with the general ones)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from extract import read_activity_map, read_portal_export
from transform.arrow_ops import ascending
from transform.judge import LedgerView, judge_run
from transform.mapping import usable_activity_map

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"


def judged_outcomes(raw: pd.DataFrame) -> tuple[Counter, pd.DataFrame]:
    activity_map = usable_activity_map(read_activity_map(SAMPLES / "activity_map.csv"))
    judged = judge_run(
        raw,
        activity_map,
        LedgerView.empty(list(raw.columns)),
        cutoff=pd.Timestamp("2023-07-01"),
        as_of=pd.Timestamp("2026-11-26"),
    )
    claims = judged.claims
    outcomes = Counter(zip(claims["claim_id"], claims["outcome"], claims["reason"].fillna(""), strict=True))
    return outcomes, judged.registry_rows


@pytest.mark.parametrize("sample", ["portal_export_biweekly.csv", "portal_export_duplicates.csv"])
def test_sorted_and_shuffled_inputs_judge_alike(sample):
    raw = read_portal_export(SAMPLES / sample).assign(file_order=0)
    in_id_order = raw.sort_values("claim_id", kind="stable").reset_index(drop=True)
    shuffled = raw.sample(frac=1, random_state=3).reset_index(drop=True)
    assert ascending(in_id_order["claim_id"].dropna())
    sorted_outcomes, sorted_rows = judged_outcomes(in_id_order)
    shuffled_outcomes, shuffled_rows = judged_outcomes(shuffled)
    assert sorted_outcomes == shuffled_outcomes
    pd.testing.assert_frame_equal(sorted_rows, shuffled_rows)
