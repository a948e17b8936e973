"""One minimal claim per reason code of issue 3, then the precedence between any two of them."""

from __future__ import annotations

import itertools

import pytest

from schemas.reasons import DELAY_PRECEDENCE, REJECTION_PRECEDENCE, Reason
from tests.factories import MAP_ROWS, claim, judge_rows
from tests.transform.helpers import only, outcome_by_claim

# ACT-1 runs 2023-01-01..2027-12-31 with max 10; ACT-2 from 2024-01-01 with max 2; ACT-NOID has no ACCME id.
SINGLE_ROW_CASES: list[tuple[Reason, dict]] = [
    (Reason.MISSING_REQUIRED_FIELD, {"Last Name": None}),
    (Reason.INVALID_DATE, {"Completion Date": "2024-02-30"}),
    (Reason.INVALID_DATE, {"Claim Date": "yesterday"}),
    (Reason.INVALID_CREDITS, {"Credits": "one"}),
    (Reason.INVALID_CREDITS, {"Credits": "0"}),
    (Reason.INVALID_CREDITS, {"Credits": "-1"}),
    (Reason.CREDITS_NOT_QUARTER_HOUR, {"Credits": "1.1"}),
    (Reason.EARNED_BEFORE_CUTOFF, {"Completion Date": "2023-06-30"}),
    (Reason.COMPLETED_IN_FUTURE, {"Completion Date": "2026-11-27"}),
    (Reason.NOT_AMA_PRA_CATEGORY_1, {"Credit Type": "ANCC Contact Hours"}),
    (Reason.NOT_AMA_PRA_CATEGORY_1, {"Credit Type": "AMA PRA Category 2 Credit"}),
    (Reason.NOT_PHYSICIAN, {"Degree": "RN"}),
    (Reason.NOT_PHYSICIAN, {"Degree": "DMD"}),
    (Reason.NO_REPORTING_CONSENT, {"Report Consent": "N"}),
    (Reason.NO_REPORTING_CONSENT, {"Report Consent": "perhaps"}),
    (Reason.CREDITS_EXCEED_ACTIVITY_MAX, {"Activity ID": "ACT-2", "Credits": "2.25"}),
    (Reason.COMPLETION_OUTSIDE_ACTIVITY_DATES, {"Activity ID": "ACT-2", "Completion Date": "2023-12-31"}),
    (Reason.INVALID_NPI, {"NPI": "1234567890"}),
    (Reason.INVALID_NPI, {"NPI": "123456789"}),
    (Reason.INVALID_LICENSE_STATE, {"License State": "Narnia"}),
    (Reason.INVALID_BIRTH_DATE, {"Date of Birth": "02/30"}),
    (Reason.INVALID_BIRTH_DATE, {"Date of Birth": "02/29/1981"}),
    (Reason.FORMULA_LIKE_TEXT, {"First Name": "=1+1"}),
    (Reason.FORMULA_LIKE_TEXT, {"Last Name": "@SUM(A1)"}),
    (Reason.FORMULA_LIKE_TEXT, {"License Number": "-2+3"}),
    (Reason.CLAIM_REVOKED, {"Claim Status": "Revoked"}),
    (Reason.ACTIVITY_NOT_MAPPED, {"Activity ID": "ACT-UNKNOWN"}),
    (Reason.ACTIVITY_NOT_REGISTERED, {"Activity ID": "ACT-NOID"}),
    (Reason.LEARNER_IDENTITY_INCOMPLETE, {"Date of Birth": None}),
    (Reason.LEARNER_IDENTITY_INCOMPLETE, {"License State": None}),
]
DELAYS = {r.value for r in DELAY_PRECEDENCE}


def test_every_issue_code_is_declared_in_precedence_order():
    issue_rejections = [
        "MISSING_REQUIRED_FIELD",
        "INVALID_DATE",
        "INVALID_CREDITS",
        "CREDITS_NOT_QUARTER_HOUR",
        "EARNED_BEFORE_CUTOFF",
        "COMPLETED_IN_FUTURE",
        "NOT_AMA_PRA_CATEGORY_1",
        "NOT_PHYSICIAN",
        "NO_REPORTING_CONSENT",
        "CREDITS_EXCEED_ACTIVITY_MAX",
        "COMPLETION_OUTSIDE_ACTIVITY_DATES",
        "INVALID_NPI",
        "INVALID_LICENSE_STATE",
        "INVALID_BIRTH_DATE",
        "FORMULA_LIKE_TEXT",
        "CONFLICTING_DUPLICATE",
        "DUPLICATE_COMPLETION",
        "CLAIM_REVOKED",
    ]
    assert [r.value for r in REJECTION_PRECEDENCE] == issue_rejections
    assert [r.value for r in DELAY_PRECEDENCE] == [
        "ACTIVITY_NOT_MAPPED",
        "ACTIVITY_NOT_REGISTERED",
        "LEARNER_IDENTITY_INCOMPLETE",
    ]


REQUIRED_HEADERS = [
    "Claim ID",
    "Activity ID",
    "Learner ID",
    "First Name",
    "Last Name",
    "Credit Type",
    "Credits",
    "Completion Date",
    "Claim Date",
]


@pytest.fixture(scope="module")
def single_rows(tmp_path_factory):
    """Every single-row case judged in one run (independent learners); case key -> (outcome, reason)."""
    rows = {"clean": claim()}
    rows.update({f"case{i}": claim(**overrides) for i, (_, overrides) in enumerate(SINGLE_ROW_CASES)})
    rows.update({f"blank:{h}": claim(**{h: "   "}) for h in REQUIRED_HEADERS})
    judged = judge_rows(tmp_path_factory.mktemp("single"), list(rows.values()))
    claims = judged.claims.sort_values("input_row")
    assert len(claims) == len(rows)
    got = dict(
        zip(
            rows,
            zip(claims["outcome"], claims["reason"].astype(object).where(claims["reason"].notna(), None), strict=True),
            strict=True,
        )
    )
    return got, judged


def test_a_clean_claim_is_submitted(single_rows):
    got, judged = single_rows
    assert got["clean"] == ("submitted", None)
    assert judged.registry_rows["action"].tolist() == ["Add"]


@pytest.mark.parametrize("case", range(len(SINGLE_ROW_CASES)), ids=lambda i: f"{SINGLE_ROW_CASES[i][0]}-{i}")
def test_each_defect_gives_its_reason(single_rows, case):
    reason, _ = SINGLE_ROW_CASES[case]
    expected = "delayed" if reason.value in DELAYS else "rejected"
    assert single_rows[0][f"case{case}"] == (expected, reason.value)


@pytest.mark.parametrize("header", REQUIRED_HEADERS)
def test_every_required_field_left_blank_is_missing(single_rows, header):
    assert single_rows[0][f"blank:{header}"] == ("rejected", "MISSING_REQUIRED_FIELD")


def test_a_single_defective_claim_alone_gives_its_reason_and_no_registry_row(tmp_path):
    judged = judge_rows(tmp_path, [claim(**{"Degree": "PA-C"})])
    assert only(judged) == ("rejected", "NOT_PHYSICIAN")
    assert judged.registry_rows.empty


def test_cutoff_boundary_day_before_rejected_cutoff_day_kept(tmp_path):
    judged = judge_rows(
        tmp_path,
        [
            claim(**{"Claim ID": "OLD", "Completion Date": "2023-06-30"}),
            claim(**{"Claim ID": "NEW", "Completion Date": "2023-07-01"}),
        ],
    )
    assert outcome_by_claim(judged) == {"OLD": ("rejected", "EARNED_BEFORE_CUTOFF"), "NEW": ("submitted", None)}


def test_completed_on_the_as_of_date_is_kept_the_day_after_is_future(tmp_path):
    judged = judge_rows(
        tmp_path,
        [
            claim(**{"Claim ID": "TODAY", "Completion Date": "2026-11-26 23:59"}),
            claim(**{"Claim ID": "TOMORROW", "Completion Date": "11/27/2026"}),
        ],
        as_of="2026-11-26",
    )
    assert outcome_by_claim(judged) == {"TODAY": ("submitted", None), "TOMORROW": ("rejected", "COMPLETED_IN_FUTURE")}


def test_credits_equal_to_the_activity_max_are_kept(tmp_path):
    assert only(judge_rows(tmp_path, [claim(**{"Activity ID": "ACT-2", "Credits": "2"})])) == ("submitted", None)


def test_completion_on_the_activity_start_and_end_dates_is_inside(tmp_path):
    judged = judge_rows(
        tmp_path,
        [
            claim(**{"Claim ID": "S", "Activity ID": "ACT-2", "Completion Date": "2024-01-01"}),
            claim(**{"Claim ID": "E", "Activity ID": "ACT-W", "Completion Date": "2026-06-30"}),
        ],
        [
            *MAP_ROWS,
            {
                "Portal Activity ID": "ACT-W",
                "ACCME Activity ID": "202500001",
                "Max Credits": "5",
                "Start Date": "2026-01-01",
                "End Date": "2026-06-30",
            },
        ],
    )
    assert outcome_by_claim(judged) == {"S": ("submitted", None), "E": ("submitted", None)}


def test_conflicting_duplicate_rejects_every_copy(tmp_path):
    rows = [claim(**{"Claim ID": "X1", "Credits": "1"}), claim(**{"Claim ID": "X1", "Credits": "1.5"})]
    judged = judge_rows(tmp_path, rows)
    assert judged.claims["outcome"].tolist() == ["rejected", "rejected"]
    assert judged.claims["reason"].tolist() == ["CONFLICTING_DUPLICATE"] * 2


def test_duplicate_completion_keeps_the_first_claim_id(tmp_path):
    same = {"Learner ID": "L1", "Completion Date": "2026-09-01"}
    judged = judge_rows(tmp_path, [claim(**{"Claim ID": "A", **same}), claim(**{"Claim ID": "B", **same})])
    assert outcome_by_claim(judged) == {"A": ("submitted", None), "B": ("rejected", "DUPLICATE_COMPLETION")}


# --- precedence -------------------------------------------------------------------------------

# Defects that touch disjoint columns where possible, over a map with two extra activities:
# ACT-TINY (max 1, default credits are 1.5) and ACT-WIN (ends before the default completion).
PRECEDENCE_MAP = [
    *MAP_ROWS,
    {
        "Portal Activity ID": "ACT-TINY",
        "ACCME Activity ID": "202500002",
        "Max Credits": "1",
        "Start Date": "2023-01-01",
        "End Date": "2027-12-31",
    },
    {
        "Portal Activity ID": "ACT-WIN",
        "ACCME Activity ID": "202500003",
        "Max Credits": "10",
        "Start Date": "2026-01-01",
        "End Date": "2026-06-30",
    },
]
DEFECTS: dict[Reason, dict] = {
    Reason.MISSING_REQUIRED_FIELD: {"Last Name": None},
    Reason.INVALID_DATE: {"Claim Date": "2024-02-30"},
    Reason.INVALID_CREDITS: {"Credits": "abc"},
    Reason.CREDITS_NOT_QUARTER_HOUR: {"Credits": "1.1"},
    Reason.EARNED_BEFORE_CUTOFF: {"Completion Date": "2023-06-30"},
    Reason.COMPLETED_IN_FUTURE: {"Completion Date": "2026-11-27"},
    Reason.NOT_AMA_PRA_CATEGORY_1: {"Credit Type": "ANCC Contact Hours"},
    Reason.NOT_PHYSICIAN: {"Degree": "RN"},
    Reason.NO_REPORTING_CONSENT: {"Report Consent": "No"},
    Reason.CREDITS_EXCEED_ACTIVITY_MAX: {"Activity ID": "ACT-TINY"},
    Reason.COMPLETION_OUTSIDE_ACTIVITY_DATES: {"Activity ID": "ACT-WIN"},
    Reason.INVALID_NPI: {"NPI": "1234567890"},
    Reason.INVALID_LICENSE_STATE: {"License State": "XX"},
    Reason.INVALID_BIRTH_DATE: {"Date of Birth": "02/30"},
    Reason.FORMULA_LIKE_TEXT: {"First Name": "+1"},
    Reason.CLAIM_REVOKED: {"Claim Status": "Revoked"},
    Reason.ACTIVITY_NOT_MAPPED: {"Activity ID": "ACT-UNKNOWN"},
    Reason.ACTIVITY_NOT_REGISTERED: {"Activity ID": "ACT-NOID"},
    Reason.LEARNER_IDENTITY_INCOMPLETE: {"Date of Birth": None},
}
ORDER = [r for r in (*REJECTION_PRECEDENCE, *DELAY_PRECEDENCE) if r in DEFECTS]
PAIRS = [(a, b) for a, b in itertools.combinations(ORDER, 2) if not set(DEFECTS[a]) & set(DEFECTS[b])]


def test_precedence_pairs_cover_every_single_row_code():
    assert {r for pair in PAIRS for r in pair} == set(DEFECTS)
    assert len(PAIRS) > 120


def test_a_row_with_two_defects_gets_the_first_in_precedence(tmp_path):
    rows = [claim(**{**DEFECTS[a], **DEFECTS[b], "Claim ID": f"{a.value}+{b.value}"}) for a, b in PAIRS]
    judged = judge_rows(tmp_path, rows, PRECEDENCE_MAP)
    got = outcome_by_claim(judged)
    wrong = {
        f"{a.value}+{b.value}": got[f"{a.value}+{b.value}"]
        for a, b in PAIRS
        if got[f"{a.value}+{b.value}"][1] != a.value
    }
    assert not wrong
    delayed = [f"{a.value}+{b.value}" for a, b in PAIRS if a.value in DELAYS]
    assert delayed and all(got[k][0] == "delayed" for k in delayed)


EARLIER_THAN_CONFLICT = REJECTION_PRECEDENCE[: REJECTION_PRECEDENCE.index(Reason.CONFLICTING_DUPLICATE)]


def test_row_defects_win_over_conflicting_duplicate(tmp_path):
    # Per earlier reason, two copies of one claim id that differ only in the e-mail (no rule reads it).
    earlier = [r for r in ORDER if r in EARLIER_THAN_CONFLICT]
    rows = [
        claim(**{**DEFECTS[r], "Claim ID": f"K-{r.value}", "Email": e}) for r in earlier for e in ("a@x.org", "b@x.org")
    ]
    claims = judge_rows(tmp_path, rows, PRECEDENCE_MAP).claims
    got = claims.groupby("claim_id")["reason"].agg(lambda s: sorted(set(s)))
    assert {k: v for k, v in got.items()} == {f"K-{r.value}": [r.value] for r in earlier}


def test_conflicting_duplicate_wins_over_revoked_and_delays(tmp_path):
    rows = [
        claim(**{"Claim ID": "K", "Email": e, "Claim Status": "Revoked", "Date of Birth": None})
        for e in ("a@example.org", "b@example.org")
    ]
    assert judge_rows(tmp_path, rows).claims["reason"].tolist() == ["CONFLICTING_DUPLICATE"] * 2


def test_duplicate_completion_wins_over_a_delay(tmp_path):
    same = {"Learner ID": "L7", "Completion Date": "2026-09-01"}
    judged = judge_rows(
        tmp_path, [claim(**{"Claim ID": "A", **same}), claim(**{"Claim ID": "B", **same, "Date of Birth": None})]
    )
    assert outcome_by_claim(judged) == {"A": ("submitted", None), "B": ("rejected", "DUPLICATE_COMPLETION")}


def test_a_claim_on_an_unregistered_activity_duplicates_nothing_yet(tmp_path):
    # Without an ACCME id there is no activity to compare with: it waits, and is judged when registered.
    same = {"Learner ID": "L7", "Completion Date": "2026-09-01", "Activity ID": "ACT-NOID"}
    judged = judge_rows(tmp_path, [claim(**{"Claim ID": "A", **same}), claim(**{"Claim ID": "B", **same})])
    assert outcome_by_claim(judged) == {
        "A": ("delayed", "ACTIVITY_NOT_REGISTERED"),
        "B": ("delayed", "ACTIVITY_NOT_REGISTERED"),
    }


def test_a_delayed_claim_never_crowds_out_a_sendable_one(tmp_path):
    # The delayed claim sorts first (earlier completion) but is not sent, so the other one is.
    judged = judge_rows(
        tmp_path,
        [
            claim(
                **{
                    "Claim ID": "WAIT",
                    "Learner ID": "L8",
                    "Activity ID": "ACT-2",
                    "Credits": "2",
                    "Completion Date": "2026-08-01",
                    "License State": None,
                }
            ),
            claim(
                **{
                    "Claim ID": "SEND",
                    "Learner ID": "L8",
                    "Activity ID": "ACT-2",
                    "Credits": "2",
                    "Completion Date": "2026-09-01",
                }
            ),
        ],
    )
    assert outcome_by_claim(judged) == {
        "WAIT": ("rejected", "CREDITS_EXCEED_ACTIVITY_MAX"),
        "SEND": ("submitted", None),
    }


def test_cumulative_excess_wins_over_revoked_only_for_claims_not_revoked(tmp_path):
    judged = judge_rows(
        tmp_path,
        [
            claim(**{"Claim ID": "A", "Learner ID": "L6", "Activity ID": "ACT-2", "Credits": "2"}),
            claim(
                **{
                    "Claim ID": "R",
                    "Learner ID": "L6",
                    "Activity ID": "ACT-2",
                    "Credits": "2",
                    "Completion Date": "2026-10-02",
                    "Claim Status": "Revoked",
                }
            ),
        ],
    )
    assert outcome_by_claim(judged)["R"] == ("rejected", "CLAIM_REVOKED")
