"""Rules that look past one row: earlier sends of the same learner and activity."""

from __future__ import annotations

import pandas as pd

from schemas.reasons import Reason
from transform.arrow_ops import isin

LIVE_COLUMNS = ["claim_id", "learner_id", "accme_activity_id", "completion", "credits_value"]
MAX_PASSES = 20
COMPLETION_KEY = ["learner_id", "accme_activity_id", "completion"]


def cross_claim_defects(
    candidates: pd.DataFrame, sendable: pd.Series, live: pd.DataFrame, contenders: pd.Series | None = None
) -> dict[Reason, pd.Series]:
    """`DUPLICATE_COMPLETION` and the cumulative part of `CREDITS_EXCEED_ACTIVITY_MAX`.

    Claims that would otherwise be sent (`sendable`) take part, together with what the registry
    already holds (`live`) for other claim ids: a learner's credits in one ACCME activity never
    add up past its maximum, and one completion is never reported twice. `contenders` are claims
    held back only by a reason later in precedence (revoked, delayed): they are measured against
    what is sent, so that these two rejections win over the later reasons, and never crowd out a
    claim that can be sent now. A claim revoked in the portal is withdrawn: it is measured
    against nothing and keeps `CLAIM_REVOKED`.
    """
    index = candidates.index
    # A claim revoked (or set to zero) in the portal leaves the registry this run, as in
    # `classify_outcomes`: neither it nor its last send counts.
    withdrawn = (candidates["revoked_in_portal"] | (candidates["credits_value"] == 0).fillna(False)).astype(bool)
    pool = candidates.loc[sendable & ~withdrawn, LIVE_COLUMNS + ["accme_max_credits", "claimed"]].copy()
    pool["rank"] = 1
    pool["row"] = pool.index
    gone = pd.concat([pool["claim_id"], candidates.loc[withdrawn, "claim_id"]])
    held = live[~isin(live["claim_id"], gone)][LIVE_COLUMNS].copy()
    held["rank"] = 0
    held["row"] = -1
    combined = pd.concat([held, pool], ignore_index=True).astype({"credits_value": "float64"})
    # Already-sent records come first, then this run's claims by completion, claim date and id.
    combined = combined.sort_values(["rank", "completion", "claimed", "claim_id"], kind="stable", na_position="last")
    repeated = combined.duplicated(COMPLETION_KEY, keep="first") & (combined["rank"] == 1)
    over = _over_activity_max(combined[~repeated])
    duplicate = index.isin(combined.loc[repeated, "row"].to_numpy())
    exceeds = index.isin(over)
    if contenders is not None and contenders.any():
        kept = combined[~repeated & ~combined["row"].isin(over)]
        late_duplicate, late_exceeds = _against_sent(candidates.loc[contenders & ~sendable & ~withdrawn], kept)
        duplicate |= index.isin(late_duplicate)
        exceeds |= index.isin(late_exceeds)
    return {
        Reason.DUPLICATE_COMPLETION: pd.Series(duplicate, index=index),
        Reason.CREDITS_EXCEED_ACTIVITY_MAX: pd.Series(exceeds, index=index),
    }


def _against_sent(contenders: pd.DataFrame, kept: pd.DataFrame) -> tuple[pd.Index, pd.Index]:
    """Contenders that repeat a kept completion, and those whose credits no longer fit beside the kept."""
    complete = contenders[contenders[COMPLETION_KEY].notna().all(axis=1)]
    if complete.empty:
        return pd.Index([]), pd.Index([])
    seen = kept[COMPLETION_KEY].drop_duplicates().assign(_seen=True)
    hits = complete[COMPLETION_KEY].merge(seen, on=COMPLETION_KEY, how="left")["_seen"].notna().to_numpy()
    pair = ["learner_id", "accme_activity_id"]
    totals = kept.groupby(pair)["credits_value"].sum().rename("_total").reset_index()
    used = complete[pair].merge(totals, on=pair, how="left")["_total"].fillna(0.0).to_numpy()
    over = (used + complete["credits_value"].to_numpy() > complete["accme_max_credits"].to_numpy() + 1e-9) & ~hits
    return complete.index[hits], complete.index[over]


def _over_activity_max(counted: pd.DataFrame) -> list[int]:
    """Rows of this run that would take a learner's total in an ACCME activity past its maximum.

    Greedy in the given order: a claim that does not fit is refused and does not use up the
    allowance, so a later smaller claim can still fit. Each pass refuses the first misfit of every
    learner and activity; past `MAX_PASSES` every remaining misfit is refused at once (never over).
    """
    maxima = counted.groupby("accme_activity_id")["accme_max_credits"].transform("max")
    groups = [counted["learner_id"], counted["accme_activity_id"]]
    refused = pd.Series(False, index=counted.index)
    for attempt in range(MAX_PASSES + 1):
        credits = counted["credits_value"].where(~refused, 0.0)
        running = credits.groupby(groups).cumsum()
        misfit = (counted["rank"] == 1) & ~refused & (running > maxima + 1e-9).fillna(False)
        if not misfit.any():
            break
        if attempt == MAX_PASSES:
            refused |= misfit
            break
        first = misfit & ~misfit[misfit].groupby(groups).cumcount().reindex(counted.index).fillna(1).astype(bool)
        refused |= first
    return counted.loc[refused, "row"].tolist()
