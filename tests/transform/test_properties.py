"""Properties over random runs: one outcome per input row, and nothing sent breaks a rule."""

from __future__ import annotations

import re

import pandas as pd
from hypothesis import HealthCheck, given, settings

from schemas.reasons import OUTCOMES
from schemas.registry_row import RegistryRow
from tests.transform.helpers import AS_OF, CUTOFF, ledger_with_sent, sent_row
from tests.transform.strategies import MAP, raw_runs, sent_views
from transform.judge import judge_run
from transform.parse import npi_is_valid, parse_dates
from transform.summary import run_counts
from transform.us_states import STATE_NAMES
from transform.validate import _PHYSICIAN

SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(raw=raw_runs(), sends=sent_views())
def test_every_row_one_outcome_and_no_sent_row_breaks_a_rule(raw, sends):
    ledger = ledger_with_sent(
        [
            sent_row(
                s["claim_id"], s["learner_id"], s["accme_activity_id"], s["completion"], s["credits"], live=s["live"]
            )
            for s in sends
        ]
    )
    judged = judge_run(raw, MAP, ledger, cutoff=CUTOFF, as_of=AS_OF)

    # --- exactly one outcome per input row
    fresh = judged.claims[~judged.claims["from_ledger"].astype(bool)]
    assert len(fresh) == len(raw)
    assert sorted(fresh["input_row"].tolist()) == list(range(len(raw)))
    assert fresh["outcome"].isin(OUTCOMES).all()
    needs_reason = ~fresh["outcome"].isin(["submitted", "unchanged"])
    assert fresh.loc[needs_reason, "reason"].notna().all()
    counts = run_counts(judged.claims, len(raw))["counts"]
    assert sum(counts[o] for o in OUTCOMES) == counts["input_rows"] == len(raw)

    # --- no Add breaks a rule
    adds = judged.registry_rows[judged.registry_rows["action"] == "Add"]
    if adds.empty:
        return
    # RegistryRow declares credits as a number; registry_rows carry them as the text sent.
    RegistryRow.validate(adds.astype({"credits": "float64"}), lazy=True)
    adding = fresh[fresh["outcome"].isin(["submitted", "corrected"])]
    assert adding["claim_id"].is_unique and sorted(adding["claim_id"]) == sorted(adds["claim_id"])
    source = adding.set_index("claim_id").loc[adds["claim_id"]]
    credits = adds["credits"].astype(float).to_numpy()
    assert (credits > 0).all() and ((credits * 4) % 1 == 0).all()
    assert (credits <= source["max_credits_value"].to_numpy() + 1e-9).all()
    completion = parse_dates(adds["completion_date"]).to_numpy()
    assert ((completion >= CUTOFF.to_datetime64()) & (completion <= AS_OF.to_datetime64())).all()
    assert ((completion >= source["start"].to_numpy()) & (completion <= source["end"].to_numpy())).all()
    npis = adds["license_or_npi"][adds["license_or_npi"].str.fullmatch(r"\d{10}").fillna(False)]
    assert npi_is_valid(npis).all()
    assert (source["npi"].isna() | npi_is_valid(source["npi"]).to_numpy()).all()
    months_days = pd.to_datetime("2000/" + adds["birth_mmdd"], format="%Y/%m/%d", errors="coerce")
    assert months_days.notna().all()
    assert adds["license_state"].isin(list(STATE_NAMES.values())).all()
    text = adds[["first_name", "last_name", "license_or_npi", "license_state"]]
    assert not text.apply(lambda c: c.str.match(r"^[=+\-@\t\r\n]").fillna(False)).any().any()
    degree = source["degree"].astype("string").str.casefold().str.replace(".", "", regex=False)
    assert (degree.isna() | degree.str.contains(_PHYSICIAN, flags=re.IGNORECASE).fillna(False)).all()
    assert (source["consent"].isna() | source["consent"].str.casefold().isin(["y", "yes", "true"])).all()
    assert not (source["status"].astype("string").str.casefold() == "revoked").any()

    # --- cumulative: this run's Adds plus what the registry keeps never pass an activity's maximum
    dropped = set(fresh.loc[fresh["outcome"].isin(["corrected", "revoked"]), "claim_id"])
    kept = ledger.sent[ledger.sent["live"] & ~ledger.sent["claim_id"].isin(dropped | set(adds["claim_id"]))]
    total = pd.concat(
        [
            pd.DataFrame(
                {
                    "learner_id": source["learner_id"].to_numpy(),
                    "accme": adds["accme_activity_id"].to_numpy(),
                    "credits": credits,
                }
            ),
            pd.DataFrame(
                {"learner_id": kept["learner_id"], "accme": kept["accme_activity_id"], "credits": kept["credits_value"]}
            ),
        ]
    )
    maxima = MAP.groupby("accme_activity_id")["max_credits_value"].sum()
    sums = total.groupby(["learner_id", "accme"])["credits"].sum()
    touched = sums[sums.index.get_level_values(0).isin(source["learner_id"])]
    assert (touched.to_numpy() <= touched.index.get_level_values(1).map(maxima).to_numpy() + 1e-9).all()
