"""Against the ledger: what each judged claim means for the registry this run."""

from __future__ import annotations

import numpy as np
import pandas as pd

from schemas.reasons import DELAY_PRECEDENCE, Outcome, Reason


def classify_outcomes(judged: pd.DataFrame, live: pd.DataFrame) -> pd.DataFrame:
    """`outcome` and `reason` for claims with a `reason` from the rules and an Add `fingerprint`.

    `live` holds, per claim id the registry currently has, the fingerprint last sent.
    """
    sent = judged["claim_id"].map(live.set_index("claim_id")["fingerprint"]) if len(live) else None
    is_live = sent.notna() if sent is not None else pd.Series(False, index=judged.index)
    reason = judged["reason"]
    delays = {r.value for r in DELAY_PRECEDENCE}
    is_delay = reason.isin(delays).fillna(False)
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
    outcome = np.select(conditions, [o.value for o in outcomes], default=Outcome.UNCHANGED.value)
    result = pd.DataFrame({"outcome": outcome}, index=judged.index)
    result["reason"] = reason.where(is_rejection | is_delay)
    result.loc[result["outcome"] == Outcome.REVOKED, "reason"] = Reason.REVOKED_AFTER_SENT.value
    result.loc[result["outcome"] == Outcome.CORRECTED, "reason"] = Reason.VALUES_CHANGED.value
    result["reason"] = result["reason"].astype("string")
    return result
