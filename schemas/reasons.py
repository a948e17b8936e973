"""Outcomes and reason codes: the shared vocabulary of logs, reports, tests and the CLI.

The order of `REJECTION_PRECEDENCE` and `DELAY_PRECEDENCE` is the documented precedence:
a claim with several defects carries the first rejection in that order, else the first delay.
"""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    SUBMITTED = "submitted"
    CORRECTED = "corrected"
    REVOKED = "revoked"
    DELAYED = "delayed"
    REJECTED = "rejected"
    UNCHANGED = "unchanged"
    DUPLICATE = "duplicate"


OUTCOMES: tuple[str, ...] = tuple(o.value for o in Outcome)


class Reason(StrEnum):
    # rejections, in precedence order
    MISSING_REQUIRED_FIELD = "MISSING_REQUIRED_FIELD"
    INVALID_DATE = "INVALID_DATE"
    INVALID_CREDITS = "INVALID_CREDITS"
    CREDITS_NOT_QUARTER_HOUR = "CREDITS_NOT_QUARTER_HOUR"
    EARNED_BEFORE_CUTOFF = "EARNED_BEFORE_CUTOFF"
    COMPLETED_IN_FUTURE = "COMPLETED_IN_FUTURE"
    NOT_AMA_PRA_CATEGORY_1 = "NOT_AMA_PRA_CATEGORY_1"
    NOT_PHYSICIAN = "NOT_PHYSICIAN"
    NO_REPORTING_CONSENT = "NO_REPORTING_CONSENT"
    CREDITS_EXCEED_ACTIVITY_MAX = "CREDITS_EXCEED_ACTIVITY_MAX"
    COMPLETION_OUTSIDE_ACTIVITY_DATES = "COMPLETION_OUTSIDE_ACTIVITY_DATES"
    INVALID_NPI = "INVALID_NPI"
    INVALID_LICENSE_STATE = "INVALID_LICENSE_STATE"
    INVALID_BIRTH_DATE = "INVALID_BIRTH_DATE"
    FORMULA_LIKE_TEXT = "FORMULA_LIKE_TEXT"
    CONFLICTING_DUPLICATE = "CONFLICTING_DUPLICATE"
    DUPLICATE_COMPLETION = "DUPLICATE_COMPLETION"
    CLAIM_REVOKED = "CLAIM_REVOKED"
    # delays, in precedence order
    ACTIVITY_NOT_MAPPED = "ACTIVITY_NOT_MAPPED"
    ACTIVITY_NOT_REGISTERED = "ACTIVITY_NOT_REGISTERED"
    LEARNER_IDENTITY_INCOMPLETE = "LEARNER_IDENTITY_INCOMPLETE"
    # outcomes of sent claims
    VALUES_CHANGED = "VALUES_CHANGED"
    REVOKED_AFTER_SENT = "REVOKED_AFTER_SENT"
    REPEATED_IN_INPUT = "REPEATED_IN_INPUT"
    SUPERSEDED_BY_LATER_FILE = "SUPERSEDED_BY_LATER_FILE"


REJECTION_PRECEDENCE: tuple[Reason, ...] = (
    Reason.MISSING_REQUIRED_FIELD,
    Reason.INVALID_DATE,
    Reason.INVALID_CREDITS,
    Reason.CREDITS_NOT_QUARTER_HOUR,
    Reason.EARNED_BEFORE_CUTOFF,
    Reason.COMPLETED_IN_FUTURE,
    Reason.NOT_AMA_PRA_CATEGORY_1,
    Reason.NOT_PHYSICIAN,
    Reason.NO_REPORTING_CONSENT,
    Reason.CREDITS_EXCEED_ACTIVITY_MAX,
    Reason.COMPLETION_OUTSIDE_ACTIVITY_DATES,
    Reason.INVALID_NPI,
    Reason.INVALID_LICENSE_STATE,
    Reason.INVALID_BIRTH_DATE,
    Reason.FORMULA_LIKE_TEXT,
    Reason.CONFLICTING_DUPLICATE,
    Reason.DUPLICATE_COMPLETION,
    Reason.CLAIM_REVOKED,
)
DELAY_PRECEDENCE: tuple[Reason, ...] = (
    Reason.ACTIVITY_NOT_MAPPED,
    Reason.ACTIVITY_NOT_REGISTERED,
    Reason.LEARNER_IDENTITY_INCOMPLETE,
)

# Plain-language fixes for staff, shown in reports next to each held-back claim.
STAFF_FIX: dict[str, str] = {
    Reason.MISSING_REQUIRED_FIELD: "Fill in the missing field in the portal and export again.",
    Reason.INVALID_DATE: "Correct the completion or claim date in the portal.",
    Reason.INVALID_CREDITS: "Credits must be a positive number; correct the claim.",
    Reason.CREDITS_NOT_QUARTER_HOUR: "Credits must be multiples of 0.25; correct the claim.",
    Reason.EARNED_BEFORE_CUTOFF: "Earned before the reporting cutoff; nothing to do.",
    Reason.COMPLETED_IN_FUTURE: "Completion date is after the run date; check the claim.",
    Reason.NOT_AMA_PRA_CATEGORY_1: "Only AMA PRA Category 1 credit is reported; nothing to do.",
    Reason.NOT_PHYSICIAN: "Only physicians (MD/DO) are reported; check the learner's degree.",
    Reason.NO_REPORTING_CONSENT: "The learner did not consent; ask them to update their profile.",
    Reason.CREDITS_EXCEED_ACTIVITY_MAX: "Credits exceed the activity's designated maximum; correct the claim or the map.",
    Reason.COMPLETION_OUTSIDE_ACTIVITY_DATES: "Completion date is outside the activity's dates; correct the claim or the map.",
    Reason.INVALID_NPI: "The NPI is not a valid 10-digit NPI; correct the learner profile.",
    Reason.INVALID_LICENSE_STATE: "The licensing state is not a US state or territory; correct the profile.",
    Reason.INVALID_BIRTH_DATE: "The birth date is not a real month/day; correct the profile.",
    Reason.FORMULA_LIKE_TEXT: "A text field starts with =, +, -, @ or a control character; correct it in the portal.",
    Reason.CONFLICTING_DUPLICATE: "The same claim id appears twice with different values; fix the export.",
    Reason.DUPLICATE_COMPLETION: "The learner already has this activity and date under another claim id.",
    Reason.CLAIM_REVOKED: "Revoked in the portal and never sent; nothing to do.",
    Reason.ACTIVITY_NOT_MAPPED: "Add the portal activity to the activity map.",
    Reason.ACTIVITY_NOT_REGISTERED: "Register the activity in PARS and add its ACCME id to the map.",
    Reason.LEARNER_IDENTITY_INCOMPLETE: "Ask the learner to add birth month/day and licensing state.",
    Reason.REPEATED_IN_INPUT: "The same claim is repeated in this run's input; it was judged once. Nothing to do.",
    Reason.SUPERSEDED_BY_LATER_FILE: "A later export in this run carries this claim; that row was judged.",
    Reason.VALUES_CHANGED: "Sent before with other values: the old row is deleted and the new one added.",
    Reason.REVOKED_AFTER_SENT: "Revoked in the portal after it was sent: the registry row is deleted.",
}
