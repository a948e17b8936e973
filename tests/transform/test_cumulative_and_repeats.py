"""Rules across rows: the cumulative activity maximum (with what was sent), duplicate completions,
conflicting and identical repeats, and a later file's version winning."""

from __future__ import annotations

from tests.factories import MAP_ROWS, claim, judge_rows
from tests.transform.helpers import judge_files, ledger_with_sent, outcome_by_claim, sent_row

ACT2 = "202412346"  # ACT-2: max 2 credits, 2024-01-01..2027-12-31


def _on_act2(claim_id: str, credits: str, day: str, learner: str = "L-CUM", **more: object) -> dict:
    return claim(
        **{
            "Claim ID": claim_id,
            "Learner ID": learner,
            "Activity ID": "ACT-2",
            "Credits": credits,
            "Completion Date": day,
            **more,
        }
    )


def test_one_learners_credits_in_one_activity_never_pass_the_max(tmp_path):
    judged = judge_rows(
        tmp_path,
        [
            _on_act2("A", "1", "2026-09-01"),
            _on_act2("B", "1", "2026-09-02"),
            _on_act2("C", "0.5", "2026-09-03"),
            _on_act2("OTHER", "2", "2026-09-03", learner="L-ELSE"),
        ],
    )
    assert outcome_by_claim(judged) == {
        "A": ("submitted", None),
        "B": ("submitted", None),
        "C": ("rejected", "CREDITS_EXCEED_ACTIVITY_MAX"),
        "OTHER": ("submitted", None),
    }


def test_a_refused_claim_does_not_use_up_the_allowance(tmp_path):
    judged = judge_rows(
        tmp_path,
        [_on_act2("A", "1", "2026-09-01"), _on_act2("B", "1.5", "2026-09-02"), _on_act2("C", "1", "2026-09-03")],
    )
    assert outcome_by_claim(judged) == {
        "A": ("submitted", None),
        "B": ("rejected", "CREDITS_EXCEED_ACTIVITY_MAX"),
        "C": ("submitted", None),
    }
    sent = judged.registry_rows
    assert sent["credits"].astype(float).sum() == 2.0


def test_what_was_already_sent_counts_toward_the_max(tmp_path):
    ledger = ledger_with_sent([sent_row("EARLIER", "L-CUM", ACT2, "2026-08-01", 1.5)])
    judged = judge_rows(
        tmp_path, [_on_act2("TOO-MUCH", "1", "2026-09-01"), _on_act2("FITS", "0.5", "2026-09-02")], ledger=ledger
    )
    assert outcome_by_claim(judged) == {
        "TOO-MUCH": ("rejected", "CREDITS_EXCEED_ACTIVITY_MAX"),
        "FITS": ("submitted", None),
    }


def test_a_send_the_registry_no_longer_holds_does_not_count(tmp_path):
    ledger = ledger_with_sent([sent_row("DELETED", "L-CUM", ACT2, "2026-08-01", 2.0, live=False)])
    judged = judge_rows(tmp_path, [_on_act2("NEW", "2", "2026-09-01")], ledger=ledger)
    assert outcome_by_claim(judged) == {"NEW": ("submitted", None)}


def test_a_claim_revoked_this_run_frees_its_credits(tmp_path):
    ledger = ledger_with_sent([sent_row("GONE", "L-CUM", ACT2, "2026-08-01", 2.0)])
    judged = judge_rows(
        tmp_path,
        [_on_act2("GONE", "2", "2026-08-01", **{"Claim Status": "Revoked"}), _on_act2("NEW", "2", "2026-09-01")],
        ledger=ledger,
    )
    assert outcome_by_claim(judged) == {"GONE": ("revoked", "REVOKED_AFTER_SENT"), "NEW": ("submitted", None)}


def test_the_sessions_of_a_series_add_up_to_the_series_max(tmp_path):
    series = [
        {
            "Portal Activity ID": f"S{i}",
            "ACCME Activity ID": "202600009",
            "Max Credits": "1",
            "Start Date": f"2026-0{i}-01",
            "End Date": f"2026-0{i}-28",
        }
        for i in (1, 2)
    ]
    judged = judge_rows(
        tmp_path,
        [
            claim(
                **{
                    "Claim ID": "S1",
                    "Learner ID": "L-S",
                    "Activity ID": "S1",
                    "Credits": "1",
                    "Completion Date": "2026-01-05",
                }
            ),
            claim(
                **{
                    "Claim ID": "S2",
                    "Learner ID": "L-S",
                    "Activity ID": "S2",
                    "Credits": "1",
                    "Completion Date": "2026-02-05",
                }
            ),
            claim(
                **{
                    "Claim ID": "S2B",
                    "Learner ID": "L-S",
                    "Activity ID": "S2",
                    "Credits": "0.25",
                    "Completion Date": "2026-02-06",
                }
            ),
        ],
        [*MAP_ROWS, *series],
    )
    assert outcome_by_claim(judged) == {
        "S1": ("submitted", None),
        "S2": ("submitted", None),
        "S2B": ("rejected", "CREDITS_EXCEED_ACTIVITY_MAX"),
    }


def test_duplicate_completion_against_a_live_send_of_another_claim_id(tmp_path):
    ledger = ledger_with_sent([sent_row("SENT", "L-DUP", "202312345", "2026-09-01", 1.0)])
    judged = judge_rows(
        tmp_path,
        [claim(**{"Claim ID": "AGAIN", "Learner ID": "L-DUP", "Completion Date": "2026-09-01", "Credits": "1"})],
        ledger=ledger,
    )
    assert outcome_by_claim(judged) == {"AGAIN": ("rejected", "DUPLICATE_COMPLETION")}


def test_the_same_claim_id_restated_is_not_a_duplicate_completion(tmp_path):
    ledger = ledger_with_sent([sent_row("SENT", "L-DUP", "202312345", "2026-09-01", 1.0)])
    judged = judge_rows(
        tmp_path,
        [claim(**{"Claim ID": "SENT", "Learner ID": "L-DUP", "Completion Date": "2026-09-01", "Credits": "1"})],
        ledger=ledger,
    )
    outcome, reason = outcome_by_claim(judged)["SENT"]
    assert reason != "DUPLICATE_COMPLETION"
    assert outcome in {"unchanged", "corrected"}


def test_duplicate_completion_against_a_deleted_send_is_allowed(tmp_path):
    ledger = ledger_with_sent([sent_row("SENT", "L-DUP", "202312345", "2026-09-01", 1.0, live=False)])
    judged = judge_rows(
        tmp_path,
        [claim(**{"Claim ID": "AGAIN", "Learner ID": "L-DUP", "Completion Date": "2026-09-01"})],
        ledger=ledger,
    )
    assert outcome_by_claim(judged) == {"AGAIN": ("submitted", None)}


def test_identical_repeated_rows_are_duplicates_and_counted(tmp_path):
    row = claim(**{"Claim ID": "SAME"})
    judged = judge_rows(tmp_path, [row, dict(row), dict(row)])
    claims = judged.claims
    assert claims["outcome"].tolist() == ["submitted", "duplicate", "duplicate"]
    assert claims["reason"].tolist()[1:] == ["REPEATED_IN_INPUT", "REPEATED_IN_INPUT"]
    assert claims["source_line"].tolist() == [2, 3, 4]
    assert len(judged.registry_rows) == 1


def test_repeats_that_differ_only_by_stray_spaces_are_identical(tmp_path):
    row = claim(**{"Claim ID": "SAME"})
    padded = {k: f"  {v} " for k, v in row.items()}
    judged = judge_rows(tmp_path, [row, padded])
    assert judged.claims["outcome"].tolist() == ["submitted", "duplicate"]


def test_across_two_files_the_later_version_wins(tmp_path):
    first = [claim(**{"Claim ID": "X", "Credits": "1"}), claim(**{"Claim ID": "ONLY-FIRST"})]
    later = [claim(**{"Claim ID": "X", "Credits": "1.5", "Learner ID": first[0]["Learner ID"]})]
    judged = judge_files(tmp_path, [first, later])
    claims = judged.claims.set_index(["source_file", "claim_id"])
    assert claims.loc[("export_0.csv", "X"), ["outcome", "reason"]].tolist() == [
        "duplicate",
        "SUPERSEDED_BY_LATER_FILE",
    ]
    assert claims.loc[("export_1.csv", "X"), "outcome"] == "submitted"
    assert claims.loc[("export_0.csv", "ONLY-FIRST"), "outcome"] == "submitted"
    sent = judged.registry_rows.set_index("claim_id")
    assert sent.loc["X", "credits"] == "1.5"
    assert len(judged.claims) == 3


def test_a_later_file_settles_an_earlier_files_conflict(tmp_path):
    first = [claim(**{"Claim ID": "X", "Credits": "1"}), claim(**{"Claim ID": "X", "Credits": "2"})]
    later = [claim(**{"Claim ID": "X", "Credits": "1.5"})]
    claims = judge_files(tmp_path, [first, later]).claims
    assert claims["outcome"].tolist() == ["duplicate", "duplicate", "submitted"]


def test_a_conflict_inside_the_later_file_is_rejected(tmp_path):
    first = [claim(**{"Claim ID": "X", "Credits": "1"})]
    later = [claim(**{"Claim ID": "X", "Credits": "1.5"}), claim(**{"Claim ID": "X", "Credits": "2"})]
    claims = judge_files(tmp_path, [first, later]).claims
    assert claims["outcome"].tolist() == ["duplicate", "rejected", "rejected"]
    assert claims["reason"].tolist()[1:] == ["CONFLICTING_DUPLICATE", "CONFLICTING_DUPLICATE"]


def test_a_claim_set_to_zero_this_run_frees_its_credits(tmp_path):
    ledger = ledger_with_sent([sent_row("ZERO", "L-CUM", ACT2, "2026-08-01", 2.0)])
    judged = judge_rows(
        tmp_path, [_on_act2("ZERO", "0", "2026-08-01"), _on_act2("NEW", "2", "2026-09-01")], ledger=ledger
    )
    assert outcome_by_claim(judged) == {"ZERO": ("revoked", "REVOKED_AFTER_SENT"), "NEW": ("submitted", None)}


def test_a_sent_claim_now_rejected_still_counts(tmp_path):
    # The registry keeps what it holds when a later export makes the claim invalid (no Delete).
    ledger = ledger_with_sent([sent_row("KEPT", "L-CUM", ACT2, "2026-08-01", 2.0)])
    judged = judge_rows(
        tmp_path,
        [_on_act2("KEPT", "2", "2026-08-01", Degree="RN"), _on_act2("NEW", "1", "2026-09-01")],
        ledger=ledger,
    )
    assert outcome_by_claim(judged) == {
        "KEPT": ("rejected", "NOT_PHYSICIAN"),
        "NEW": ("rejected", "CREDITS_EXCEED_ACTIVITY_MAX"),
    }
