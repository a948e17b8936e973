"""Rules that look past one row: earlier sends of the same learner and activity."""

from __future__ import annotations

import numpy as np
import pandas as pd

from schemas.reasons import Reason
from transform.arrow_ops import codes, isin, sorted_order

LIVE_COLUMNS = ["claim_id", "learner_id", "accme_activity_id", "completion", "credits_value"]
MAX_PASSES = 20
COMPLETION_KEY = ["learner_id", "accme_activity_id", "completion"]
PAIR_KEY = ["learner_id", "accme_activity_id"]


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
    late = (contenders & ~sendable & ~withdrawn) if contenders is not None else pd.Series(False, index=index)
    taking_part = candidates.loc[(sendable | late) & ~withdrawn, [*LIVE_COLUMNS, "accme_max_credits", "claimed"]]
    live, taking_part = _numbered_ids(live, taking_part)
    pool = taking_part.loc[sendable.reindex(taking_part.index)]
    pool = pool.assign(rank=1, row=pool.index)
    gone = pd.concat([pool["claim_id"], candidates.loc[withdrawn, "claim_id"]])
    held = live[~isin(live["claim_id"], gone)][LIVE_COLUMNS].assign(rank=0, row=-1)
    combined = pd.concat([held, pool], ignore_index=True).astype({"credits_value": "float64"})
    # Already-sent records come first, then this run's claims by completion, claim date and id.
    combined = combined.take(sorted_order(combined, ["rank", "completion", "claimed", "claim_id"]))
    completion_key, _ = _key(combined, COMPLETION_KEY)  # a missing part is a value, as in `duplicated`
    repeated = pd.Series(pd.Series(completion_key).duplicated(keep="first").to_numpy(), index=combined.index)
    repeated &= combined["rank"] == 1
    over = _over_activity_max(combined[~repeated])
    duplicate = index.isin(combined.loc[repeated, "row"].to_numpy())
    exceeds = index.isin(over)
    if late.any():
        kept = combined[~repeated & ~combined["row"].isin(over)]
        measured = taking_part.loc[
            late.reindex(taking_part.index), [*COMPLETION_KEY, "credits_value", "accme_max_credits"]
        ]
        late_duplicate, late_exceeds = _against_sent(measured, kept)
        duplicate |= index.isin(late_duplicate)
        exceeds |= index.isin(late_exceeds)
    return {
        Reason.DUPLICATE_COMPLETION: pd.Series(duplicate, index=index),
        Reason.CREDITS_EXCEED_ACTIVITY_MAX: pd.Series(exceeds, index=index),
    }


def _numbered_ids(live: pd.DataFrame, claims: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both frames with learner and ACCME activity ids as int64 codes (-1 where missing), one per
    distinct id across both: every later sort, repeat and group then compares numbers, not text."""
    numbered: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for column in PAIR_KEY:
        both = codes(pd.concat([live[column], claims[column]], ignore_index=True))
        numbered[column] = (both[: len(live)], both[len(live) :])
    return (
        live.assign(**{c: pd.Series(n[0], index=live.index) for c, n in numbered.items()}),
        claims.assign(**{c: pd.Series(n[1], index=claims.index) for c, n in numbered.items()}),
    )


def _key(frame: pd.DataFrame, columns: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(key, missing): an int64 per distinct combination of `columns` (numbered ids or dates), and
    where one of them is missing. Grouping by the key, minus the missing rows, is grouping by the
    columns as pandas does (missing keys dropped)."""
    key = np.zeros(len(frame), dtype=np.int64)
    missing = np.zeros(len(frame), dtype=bool)
    bound = 1
    for column in columns:
        values = frame[column]
        code = values.to_numpy() if values.dtype == np.int64 else codes(values)
        missing |= code < 0
        width = int(code.max(initial=-1)) + 2
        if bound * width >= 1 << 62:  # keep the mixed-radix key inside int64
            key = pd.factorize(key)[0].astype(np.int64)
            bound = int(key.max(initial=0)) + 1
        key = key * width + (code + 1)
        bound *= width
    return key, missing


def _against_sent(contenders: pd.DataFrame, kept: pd.DataFrame) -> tuple[pd.Index, pd.Index]:
    """Contenders that repeat a kept completion, and those whose credits no longer fit beside the kept."""
    complete = contenders[(contenders[PAIR_KEY] >= 0).all(axis=1) & contenders["completion"].notna()]
    if complete.empty:
        return pd.Index([]), pd.Index([])
    # Keys over both frames at once, so that equal values get equal keys on either side.
    both = pd.concat([kept[[*COMPLETION_KEY, "credits_value"]], complete[COMPLETION_KEY]], ignore_index=True)
    completions, _ = _key(both, COMPLETION_KEY)
    pairs, no_pair = _key(both, PAIR_KEY)
    n_kept = len(kept)
    # `complete` has every part of its key; a hash lookup, as the keys span all of int64.
    hits = pd.Series(completions[n_kept:]).isin(completions[:n_kept]).to_numpy()
    counted = ~no_pair[:n_kept]
    totals = both["credits_value"].iloc[:n_kept][counted].groupby(pairs[:n_kept][counted], sort=False).sum()
    used = totals.reindex(pairs[n_kept:]).fillna(0.0).to_numpy()
    over = (used + complete["credits_value"].to_numpy() > complete["accme_max_credits"].to_numpy() + 1e-9) & ~hits
    return complete.index[hits], complete.index[over]


def _over_activity_max(counted: pd.DataFrame) -> list[int]:
    """Rows of this run that would take a learner's total in an ACCME activity past its maximum.

    Greedy in the given order: a claim that does not fit is refused and does not use up the
    allowance, so a later smaller claim can still fit. Each pass refuses the first misfit of every
    learner and activity; past `MAX_PASSES` every remaining misfit is refused at once (never over).
    """
    activity = counted["accme_activity_id"]
    maxima = counted["accme_max_credits"].groupby(activity.to_numpy(), sort=False).transform("max")
    maxima = maxima.where(activity >= 0)
    pair, no_pair = _key(counted, PAIR_KEY)
    groups = pd.Series(pair, index=counted.index)
    refused = pd.Series(False, index=counted.index)
    for attempt in range(MAX_PASSES + 1):
        credits = counted["credits_value"].where(~refused, 0.0)
        running = credits.groupby(groups, sort=False).cumsum().where(~no_pair)
        misfit = (counted["rank"] == 1) & ~refused & (running > maxima + 1e-9).fillna(False)
        if not misfit.any():
            break
        if attempt == MAX_PASSES:
            refused |= misfit
            break
        first = misfit & ~misfit[misfit].groupby(groups, sort=False).cumcount().reindex(counted.index).fillna(1).astype(
            bool
        )
        refused |= first
    return counted.loc[refused, "row"].tolist()
