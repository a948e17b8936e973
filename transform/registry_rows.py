"""Registry learner rows (Add/Delete) built from judged claims, in the template's terms."""

from __future__ import annotations

import pandas as pd

from schemas.registry_row import REGISTRY_FIELDS
from transform.arrow_ops import per_distinct
from transform.us_states import STATE_NAMES

ROW_KEY = ["batch_order", "accme_activity_id", "claim_id"]


def format_credits(values: pd.Series) -> pd.Series:
    """Credits as stable text: 1.0 -> "1", 0.25 -> "0.25" (what is stored is what is sent)."""
    rounded = values.astype("float64").round(4)
    return per_distinct(rounded, _credits_text).astype("string")


def _credits_text(distinct: pd.Series) -> pd.Series:
    return distinct.map(lambda v: f"{v:.4f}".rstrip("0").rstrip("."), na_action="ignore").astype("string")


def add_rows(claims: pd.DataFrame) -> pd.DataFrame:
    """One `Add` row per claim, as the text values that will be sent and kept."""
    npi = claims["npi_digits"]
    identifier = npi.where(npi.notna(), claims["license_digits"])
    has_board = claims["board"].notna() & claims["board_id"].notna()
    rows = pd.DataFrame(
        {
            "claim_id": claims["claim_id"],
            "action": "Add",
            "accme_activity_id": claims["accme_activity_id"],
            "completion_date": claims["completion"].dt.strftime("%m/%d/%Y"),
            "first_name": claims["first_name"],
            "last_name": claims["last_name"],
            "birth_mmdd": claims["birth_mmdd"],
            "license_state": claims["state_code"].map(STATE_NAMES),
            "license_or_npi": identifier,
            "credits": format_credits(claims["credits_value"]),
            "board": claims["board"].where(has_board),
            "board_id": claims["board_id"].where(has_board),
            "board_credits": format_credits(pd.to_numeric(claims["moc_points"], errors="coerce")).where(has_board),
            "moc_credit_type": pd.Series(pd.NA, index=claims.index, dtype="string"),
            "moc_type_credits": pd.Series(pd.NA, index=claims.index, dtype="string"),
        },
        index=claims.index,
    )
    return rows.astype({c: "string" for c in REGISTRY_FIELDS})


def sent_fingerprint(rows: pd.DataFrame) -> pd.Series:
    """A stable digest of the reportable values of Add rows: a change means a correction."""
    values = rows[[c for c in REGISTRY_FIELDS if c != "action"]].astype("string").fillna("\x00")
    return pd.util.hash_pandas_object(values, index=False).astype("uint64").astype("string")


def order_batch(rows: pd.DataFrame) -> pd.DataFrame:
    """Deletes before Adds (a correction's Delete must precede its Add), then by activity and claim."""
    keyed = rows.assign(batch_order=(rows["action"] == "Add").astype(int))
    return keyed.sort_values(ROW_KEY, kind="stable").drop(columns="batch_order").reset_index(drop=True)
