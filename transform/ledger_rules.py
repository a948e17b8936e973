"""Rules that look past one row: earlier sends of the same learner and activity."""

from __future__ import annotations

import pandas as pd

from schemas.reasons import Reason

LIVE_COLUMNS = ["claim_id", "learner_id", "accme_activity_id", "completion", "credits_value"]


def cross_claim_defects(candidates: pd.DataFrame, sendable: pd.Series, live: pd.DataFrame) -> dict[Reason, pd.Series]:
    """`DUPLICATE_COMPLETION` and the cumulative part of `CREDITS_EXCEED_ACTIVITY_MAX`.

    Only claims that would otherwise be sent (`sendable`) take part, together with what the
    registry already holds (`live`) for other claim ids: a learner's credits in one ACCME
    activity never add up past its maximum, and one completion is never reported twice.
    """
    index = candidates.index
    pool = candidates.loc[sendable, LIVE_COLUMNS + ["max_credits_value", "claimed"]].copy()
    pool["rank"] = 1
    pool["row"] = pool.index
    held = live[~live["claim_id"].isin(pool["claim_id"])][LIVE_COLUMNS].copy()
    held["rank"] = 0
    held["row"] = -1
    combined = pd.concat([held, pool], ignore_index=True)
    # Already-sent records come first, then this run's claims by completion, claim date and id.
    combined = combined.sort_values(["rank", "completion", "claimed", "claim_id"], kind="stable", na_position="last")
    key = ["learner_id", "accme_activity_id", "completion"]
    repeated = combined.duplicated(key, keep="first") & (combined["rank"] == 1)
    counted = combined[~repeated]
    running = counted.groupby(["learner_id", "accme_activity_id"])["credits_value"].cumsum()
    maxima = counted.groupby("accme_activity_id")["max_credits_value"].transform("max")
    over = (counted["rank"] == 1) & (running > maxima + 1e-9).fillna(False)
    duplicate_rows = combined.loc[repeated, "row"].to_numpy()
    over_rows = counted.loc[over, "row"].to_numpy()
    return {
        Reason.DUPLICATE_COMPLETION: pd.Series(index.isin(duplicate_rows), index=index),
        Reason.CREDITS_EXCEED_ACTIVITY_MAX: pd.Series(index.isin(over_rows), index=index),
    }
