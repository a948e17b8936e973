"""The portal export: accepted header spellings and the claim models (raw and typed)."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

# Canonical field -> accepted headers (matched ignoring case and surrounding spaces).
# More spellings may be added; none may be removed (DESIGN.md input contract).
CLAIM_HEADERS: dict[str, tuple[str, ...]] = {
    "claim_id": ("Claim ID", "Credit Claim ID", "Transaction ID"),
    "portal_activity_id": ("Activity ID", "Course ID", "Session ID", "Portal Activity ID"),
    "learner_id": ("Learner ID", "User ID", "Person ID"),
    "first_name": ("First Name", "Given Name"),
    "last_name": ("Last Name", "Surname", "Family Name"),
    "credit_type": ("Credit Type",),
    "credits": ("Credits", "Credit Amount", "Credits Claimed", "Hours"),
    "completion_date": ("Completion Date", "Date Earned", "Date Completed", "Attendance Date"),
    "claim_date": ("Claim Date", "Date Claimed", "Claimed On"),
    "activity_title": ("Activity Title", "Course Title", "Activity Name"),
    "email": ("Email", "Email Address"),
    "degree": ("Degree", "Credentials", "Profession"),
    "birth_date": ("Date of Birth", "DOB", "Birth Date", "Birthdate"),
    "license_state": ("License State", "Licensing State", "State of Licensure"),
    "license_number": ("License Number", "License ID", "Licensing ID"),
    "npi": ("NPI",),
    "board": ("Certifying Board",),
    "board_id": ("Board ID", "Certifying Board ID"),
    "moc_points": ("MOC Points",),
    "consent": ("Report Consent", "Consent to Report", "PARS Consent"),
    "status": ("Status", "Claim Status"),
}
REQUIRED_CLAIM_FIELDS: tuple[str, ...] = (
    "claim_id",
    "portal_activity_id",
    "learner_id",
    "first_name",
    "last_name",
    "credit_type",
    "credits",
    "completion_date",
    "claim_date",
)
CLAIM_FIELDS: tuple[str, ...] = tuple(CLAIM_HEADERS)
# Where each row came from: carried through every stage so a reason names file and line.
SOURCE_COLUMNS: tuple[str, ...] = ("source_file", "source_line")
# Learner identity: never logged, never in Prefect parameters or artifacts.
IDENTITY_FIELDS: tuple[str, ...] = (
    "first_name",
    "last_name",
    "email",
    "birth_date",
    "license_number",
    "npi",
    "board_id",
)
# Free text that lands in a spreadsheet and so must not look like a formula.
FREE_TEXT_FIELDS: tuple[str, ...] = (
    "first_name",
    "last_name",
    "license_number",
    "board_id",
    "license_state",
    "board",
)


class RawClaim(pa.DataFrameModel):
    """A claim as read: every field text or missing, ids never turned into numbers."""

    claim_id: Series[str] = pa.Field(nullable=True)
    portal_activity_id: Series[str] = pa.Field(nullable=True)
    learner_id: Series[str] = pa.Field(nullable=True)
    source_file: Series[str]
    source_line: Series[int] = pa.Field(ge=1)

    class Config:
        strict = False


class TypedClaim(pa.DataFrameModel):
    """A claim after `transform.validate.parse_claims`: the raw text kept, typed columns beside it.

    A value that cannot be parsed is null here; the row rules turn that null into a reason.
    """

    claim_id: Series[str] = pa.Field(nullable=True)
    completion: Series[pa.DateTime] = pa.Field(nullable=True)
    claimed: Series[pa.DateTime] = pa.Field(nullable=True)
    credits_value: Series[float] = pa.Field(nullable=True)
    birth_mmdd: Series[str] = pa.Field(nullable=True, str_matches=r"^\d{2}/\d{2}$")
    state_code: Series[str] = pa.Field(nullable=True, str_length={"min_value": 2, "max_value": 2})
    npi_digits: Series[str] = pa.Field(nullable=True)
    consented: Series[pd.BooleanDtype] = pa.Field(nullable=True)
    revoked_in_portal: Series[bool]
    source_file: Series[str]
    source_line: Series[int] = pa.Field(ge=1)

    @pa.check("completion", "claimed", name="date_only")
    @classmethod
    def date_only(cls, values: pd.Series) -> pd.Series:
        # The date part counts: no time of day survives parsing.
        return values.isna() | (values == values.dt.normalize())

    class Config:
        strict = False
