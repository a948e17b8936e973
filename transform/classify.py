"""Against the ledger: what each judged claim means for the registry this run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from schemas.reasons import DELAY_PRECEDENCE, Outcome, Reason
from transform.arrow_ops import isin, lookup, text_where


def classify_outcomes(judged: pd.DataFrame, live: pd.DataFrame) -> pd.DataFrame:
    """`outcome` and `reason` for claims with a `reason` from the rules and an Add `fingerprint`.

    `live` holds, per claim id the registry currently has, the fingerprint last sent.
    """
    sent = lookup(judged["claim_id"], live.set_index("claim_id")["fingerprint"]) if len(live) else None
    is_live = sent.notna() if sent is not None else pd.Series(False, index=judged.index)
    reason = judged["reason"]
    delays = {r.value for r in DELAY_PRECEDENCE}
    is_delay = isin(reason, delays)
    is_rejection = reason.notna() & ~is_delay
    withdrawn = judged["revoked_in_portal"] | (judged["credits_value"] == 0).fillna(False)
    changed = is_live & (judged["fingerprint"] != sent).fillna(True) if sent is not None else is_live
    conditions = [
        is_live & withdrawn,
        is_rejection,
        is_delay,
        ~is_live,
        changed,
    ]
    outcomes = [Outcome.REVOKED, Outcome.REJECTED, Outcome.DELAYED, Outcome.SUBMITTED, Outcome.CORRECTED]
    result = pd.DataFrame({"outcome": _first_holding(conditions, outcomes, Outcome.UNCHANGED)}, index=judged.index)
    held_reason = text_where(reason.astype("string"), is_rejection | is_delay)
    held_reason = text_where(held_reason, result["outcome"] != Outcome.REVOKED, Reason.REVOKED_AFTER_SENT.value)
    result["reason"] = text_where(held_reason, result["outcome"] != Outcome.CORRECTED, Reason.VALUES_CHANGED.value)
    return result


def _first_holding(conditions: list[pd.Series], outcomes: list[Outcome], default: Outcome) -> pd.Series:
    """`np.select` of the outcome names as `str` text, built by Arrow from one small code per row."""
    chosen = np.full(len(conditions[0]), len(outcomes), dtype=np.int64)
    for position in reversed(range(len(outcomes))):
        chosen[conditions[position].to_numpy(dtype=bool)] = position
    names = pa.array([o.value for o in [*outcomes, default]], pa.large_string())
    text = pd.Series(pd.arrays.ArrowStringArray(pc.take(names, pa.array(chosen))), index=conditions[0].index)
    return text.astype("str")
