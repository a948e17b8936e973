"""Row rules: typed parsing of `raw_claims` and one boolean defect mask per reason code."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from schemas.portal_claim import FREE_TEXT_FIELDS, REQUIRED_CLAIM_FIELDS
from schemas.reasons import Reason
from transform.arrow_ops import per_distinct
from transform.parse import (
    digits_only_id,
    npi_is_valid,
    parse_birth_mmdd,
    parse_credits,
    parse_dates,
    parse_state,
    parse_yes_no,
    starts_like_formula,
)

# "AMA PRA Category 1 Credit™", "AMA PRA Category 1 Credits", "ama pra category 1 credit(s)",
# "... Credit (TM)", "AMA PRA Category 1" ... after case folding and dropping trademark signs.
_CATEGORY_1 = r"^ama pra category (?:1|one|i)(?: credits?(?:\(s\))?)?$"
_TRADEMARK = r"™|®|\(tm\)|\(r\)"
# MD, DO and their spellings (M.D., D.O.), MBBS, MBChB, also inside "MD, PhD", "MD/MPH", "MD-PhD".
_PHYSICIAN = r"(?:^|[^a-z0-9])(?:md|do|mbbs|mbchb|mbbch|bmbs|physician)(?:$|[^a-z0-9])"


def parse_claims(raw_claims: pd.DataFrame) -> pd.DataFrame:
    """`typed_claims`: the raw text columns kept, typed columns added (a new frame)."""
    claims = raw_claims.copy()
    # Parsed once per distinct value: dates, credits, states and flags repeat across an export.
    claims["completion"] = per_distinct(raw_claims["completion_date"], parse_dates)
    claims["claimed"] = per_distinct(raw_claims["claim_date"], parse_dates)
    claims["credits_value"] = per_distinct(raw_claims["credits"], parse_credits)
    claims["birth_mmdd"] = per_distinct(raw_claims["birth_date"], parse_birth_mmdd)
    claims["state_code"] = per_distinct(raw_claims["license_state"], parse_state)
    claims["npi_digits"] = digits_only_id(raw_claims["npi"])
    claims["license_digits"] = raw_claims["license_number"].astype("string").str.strip()
    claims["consented"] = per_distinct(raw_claims["consent"], parse_yes_no).astype("boolean")
    claims["revoked_in_portal"] = _flag(raw_claims["status"], _revoked)
    claims["category_1"] = _flag(raw_claims["credit_type"], _is_category_1)
    claims["physician"] = _flag(raw_claims["degree"], _is_physician)
    return claims


def _flag(values: pd.Series, test) -> pd.Series:  # type: ignore[no-untyped-def]
    return per_distinct(values, test).fillna(False).astype(bool)


def _revoked(status: pd.Series) -> pd.Series:
    key = status.astype("string").str.strip().str.casefold()
    return key.isin(["revoked", "inactive", "cancelled", "canceled", "deleted"]).fillna(False)


def _is_category_1(credit_type: pd.Series) -> pd.Series:
    text = credit_type.astype("string").str.casefold().str.replace(_TRADEMARK, "", regex=True)
    text = text.str.replace(r"\s+", " ", regex=True).str.strip()
    return text.str.match(_CATEGORY_1).fillna(False)


def _is_physician(degree: pd.Series) -> pd.Series:
    text = degree.astype("string").str.casefold().str.replace(".", "", regex=False).str.strip()
    return text.str.contains(_PHYSICIAN, regex=True).fillna(False)


def row_defects(claims: pd.DataFrame, *, cutoff: pd.Timestamp, as_of: pd.Timestamp) -> dict[Reason, pd.Series]:
    """Each row rule as a mask over `typed_claims`; precedence is applied by the caller."""
    missing_required = claims[list(REQUIRED_CLAIM_FIELDS)].isna().any(axis=1)
    completion_bad = claims["completion_date"].notna() & claims["completion"].isna()
    claimed_bad = claims["claim_date"].notna() & claims["claimed"].isna()
    credits = claims["credits_value"]
    credits_bad = claims["credits"].notna() & (credits.isna() | (credits <= 0) | ~np.isfinite(credits))
    # 0.25 steps, tolerant of binary fractions such as 0.1 + 0.15.
    quarters = credits * 4
    not_quarter = credits.notna() & (credits > 0) & ((quarters - quarters.round()).abs() > 1e-9)
    degree_given = claims["degree"].notna()
    # Portals ask permission when credit is claimed and many exports leave the column out or
    # blank: only an explicit refusal, or a value that is not a yes/no, withholds the claim.
    no_consent = claims["consent"].notna() & claims["consented"].ne(True).fillna(True).astype(bool)
    npi_given = claims["npi_digits"].notna()
    state_given = claims["license_state"].notna()
    birth_given = claims["birth_date"].notna()
    formula_like = np.logical_or.reduce([starts_like_formula(claims[f]) for f in FREE_TEXT_FIELDS])
    return {
        Reason.MISSING_REQUIRED_FIELD: missing_required,
        Reason.INVALID_DATE: completion_bad | claimed_bad,
        Reason.INVALID_CREDITS: credits_bad,
        Reason.CREDITS_NOT_QUARTER_HOUR: not_quarter,
        Reason.EARNED_BEFORE_CUTOFF: (claims["completion"] < cutoff).fillna(False),
        Reason.COMPLETED_IN_FUTURE: (claims["completion"] > as_of).fillna(False),
        Reason.NOT_AMA_PRA_CATEGORY_1: claims["credit_type"].notna() & ~claims["category_1"],
        Reason.NOT_PHYSICIAN: degree_given & ~claims["physician"],
        Reason.NO_REPORTING_CONSENT: no_consent,
        # Per row, not per distinct value: NPIs hardly repeat beyond their learner.
        Reason.INVALID_NPI: npi_given & ~npi_is_valid(claims["npi_digits"]),
        Reason.INVALID_LICENSE_STATE: state_given & claims["state_code"].isna(),
        Reason.INVALID_BIRTH_DATE: birth_given & claims["birth_mmdd"].isna(),
        Reason.FORMULA_LIKE_TEXT: pd.Series(formula_like, index=claims.index),
        Reason.CLAIM_REVOKED: claims["revoked_in_portal"] | (credits == 0).fillna(False),
        Reason.LEARNER_IDENTITY_INCOMPLETE: ~birth_given | ~state_given,
    }


def first_reason(masks: dict[Reason, pd.Series], precedence: tuple[Reason, ...], index: pd.Index) -> pd.Series:
    """The first reason (in precedence order) whose mask holds, else NA."""
    present = [r for r in precedence if r in masks]
    if not present:
        return pd.Series(pd.NA, index=index, dtype="string")
    # The first holding reason wins: assign from the last in precedence to the first.
    chosen = np.full(len(index), -1, dtype=np.int64)
    for position in reversed(range(len(present))):
        chosen[masks[present[position]].reindex(index, fill_value=False).to_numpy(dtype=bool)] = position
    codes = pa.array([r.value for r in present], pa.large_string())
    reasons = pc.take(codes, pa.array(chosen, mask=chosen < 0))
    return pd.Series(pd.arrays.ArrowStringArray(reasons), index=index)
