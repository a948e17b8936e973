"""Registry learner rows (Add/Delete) built from judged claims, in the template's terms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from schemas.reasons import Outcome
from schemas.registry_row import REGISTRY_FIELDS
from transform.arrow_ops import isin, lookup, per_distinct, sorted_order, text_where
from transform.us_states import STATE_NAMES

ROW_KEY = ["batch_order", "accme_activity_id", "claim_id"]


def format_credits(values: pd.Series) -> pd.Series:
    """Credits as stable text: 1.0 -> "1", 0.25 -> "0.25" (what is stored is what is sent)."""
    rounded = values.astype("float64").round(4)
    return per_distinct(rounded, _credits_text).astype("string")


def _credits_text(distinct: pd.Series) -> pd.Series:
    return distinct.map(lambda v: f"{v:.4f}".rstrip("0").rstrip("."), na_action="ignore").astype("string")


def _us_date(distinct: pd.Series) -> pd.Series:
    return distinct.dt.strftime("%m/%d/%Y")


def _state_name(distinct: pd.Series) -> pd.Series:
    return distinct.map(STATE_NAMES)


def _points_text(distinct: pd.Series) -> pd.Series:
    return format_credits(pd.to_numeric(distinct, errors="coerce"))


def add_rows(claims: pd.DataFrame) -> pd.DataFrame:
    """One `Add` row per claim, as the text values that will be sent and kept."""
    npi = claims["npi_digits"]
    identifier = text_where(npi, npi.notna(), claims["license_digits"])
    has_board = claims["board"].notna() & claims["board_id"].notna()
    rows = pd.DataFrame(
        {
            "claim_id": claims["claim_id"],
            "action": "Add",
            "accme_activity_id": claims["accme_activity_id"],
            "completion_date": per_distinct(claims["completion"], _us_date),
            "first_name": claims["first_name"],
            "last_name": claims["last_name"],
            "birth_mmdd": claims["birth_mmdd"],
            "license_state": per_distinct(claims["state_code"], _state_name),
            "license_or_npi": identifier,
            "credits": format_credits(claims["credits_value"]),
            "board": text_where(claims["board"], has_board),
            "board_id": text_where(claims["board_id"], has_board),
            "board_credits": text_where(per_distinct(claims["moc_points"], _points_text), has_board),
            "moc_credit_type": pd.Series(pd.NA, index=claims.index, dtype="string"),
            "moc_type_credits": pd.Series(pd.NA, index=claims.index, dtype="string"),
        },
        index=claims.index,
    )
    return rows.astype({c: "string" for c in REGISTRY_FIELDS})


def sent_fingerprint(rows: pd.DataFrame) -> pd.Series:
    """A stable digest of the reportable values of Add rows: a change means a correction."""
    values = pd.DataFrame(
        {c: _filled(rows[c].astype("string")) for c in REGISTRY_FIELDS if c != "action"}, index=rows.index
    )
    digest = pd.util.hash_pandas_object(values, index=False).to_numpy(dtype=np.uint64)
    # Decimal text of the digest, formatted by Arrow rather than one Python int at a time.
    return pd.Series(pd.arrays.ArrowStringArray(pa.array(digest).cast(pa.large_string())), index=rows.index)


def _filled(text: pd.Series) -> pd.Categorical:
    """The text with missing as "\x00", as a categorical: it hashes exactly as its values do, from
    one dictionary encoding and without a filled copy of the column."""
    array = pa.array(text.array)
    encoded = pc.dictionary_encode(array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array)
    categories = pd.Index(pd.arrays.ArrowStringArray(encoded.dictionary.cast(pa.large_string())))
    if "\x00" not in categories:
        categories = categories.append(pd.Index(["\x00"], dtype="string"))
    indices = pc.fill_null(encoded.indices, categories.get_loc("\x00")).to_numpy()
    return pd.Categorical.from_codes(indices, categories=categories)


def order_batch(rows: pd.DataFrame) -> pd.DataFrame:
    """Deletes before Adds (a correction's Delete must precede its Add), then by activity and claim."""
    keyed = rows.assign(batch_order=(rows["action"] == "Add").astype(int))
    return rows.take(sorted_order(keyed, ROW_KEY)).reset_index(drop=True)


def registry_batch(
    judged: pd.DataFrame, adds: pd.DataFrame, last_sent: pd.DataFrame, sent_versions: pd.Series
) -> pd.DataFrame:
    """The run's rows in batch order: `claim_id`, `version`, REGISTRY_FIELDS.

    A corrected or revoked claim's last Add comes back as a Delete (`last_sent`, at its sent
    version); a submitted or corrected one adds its new Add (`adds`, on `judged`'s index). The
    Deletes sorted by activity and claim, then the Adds likewise: `order_batch` of the lot, with
    the Adds taken from `adds` once, already in order.
    """
    outcome = judged["outcome"]
    to_add = outcome.isin([Outcome.SUBMITTED.value, Outcome.CORRECTED.value]).to_numpy(dtype=bool)
    to_delete = outcome.isin([Outcome.CORRECTED.value, Outcome.REVOKED.value])
    deletes = last_sent[isin(last_sent["claim_id"], judged.loc[to_delete, "claim_id"])].assign(action="Delete")
    deletes = order_batch(deletes.assign(version=lookup(deletes["claim_id"], sent_versions)))
    picked = np.flatnonzero(to_add)
    in_order = picked[sorted_order(adds.iloc[picked], ROW_KEY[1:])] if len(picked) > 1 else picked
    new_adds = adds.iloc[in_order].assign(version=judged["new_version"].to_numpy()[in_order])
    columns = ["claim_id", "version", *REGISTRY_FIELDS]
    rows = pd.concat([deletes[columns], new_adds[columns]], ignore_index=True)
    return rows.astype({c: "string" for c in ["claim_id", *REGISTRY_FIELDS]}).astype({"version": "int64"})
