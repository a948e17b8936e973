"""The registry's learner record: the 2024 PARS Excel batch template (see PARS.md)."""

from __future__ import annotations

import pandera.pandas as pa
from pandera.typing import Series

TEMPLATE_SHEET = "Sheet1"
TEMPLATE_GUIDANCE = (
    "ACCME PARS Learner Batch Upload (2024 template). Row 2 holds the headers; data starts on "
    "row 3. Record Action is Add or Delete. Date of Birth is MM/DD. Columns 10-14 are for "
    "board (MOC) credit only."
)
# (canonical column, template header) in template order.
REGISTRY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("action", "Record Action"),
    ("accme_activity_id", "ACCME Activity ID"),
    ("completion_date", "Completion Date"),
    ("first_name", "First Name"),
    ("last_name", "Last Name"),
    ("birth_mmdd", "Date of Birth"),
    ("license_state", "Licensing State"),
    ("license_or_npi", "Licensing ID or NPI"),
    ("credits", "Number of CME Credits"),
    ("board", "Certifying Board"),
    ("board_id", "Certifying Board ID"),
    ("board_credits", "Total Board Credits"),
    ("moc_credit_type", "Credit Type"),
    ("moc_type_credits", "Credits Awarded for Credit Type"),
)
REGISTRY_FIELDS: tuple[str, ...] = tuple(c for c, _ in REGISTRY_COLUMNS)
REGISTRY_HEADERS: tuple[str, ...] = tuple(h for _, h in REGISTRY_COLUMNS)
# Columns written as numbers; every other column is text (ids keep leading zeros).
REGISTRY_NUMERIC: frozenset[str] = frozenset({"credits", "board_credits", "moc_type_credits"})


class RegistryRow(pa.DataFrameModel):
    """One row of the batch file, as values, exactly as sent (a Delete must reproduce them)."""

    action: Series[str] = pa.Field(isin=["Add", "Delete"])
    accme_activity_id: Series[str] = pa.Field(str_matches=r"^\d+$")
    completion_date: Series[str] = pa.Field(str_matches=r"^\d{2}/\d{2}/\d{4}$")
    first_name: Series[str] = pa.Field(str_length={"min_value": 1})
    last_name: Series[str] = pa.Field(str_length={"min_value": 1})
    birth_mmdd: Series[str] = pa.Field(str_matches=r"^\d{2}/\d{2}$")
    license_state: Series[str] = pa.Field(str_length={"min_value": 2})
    license_or_npi: Series[str] = pa.Field(nullable=True)
    credits: Series[float] = pa.Field(gt=0)

    class Config:
        strict = False
