"""Repeats inside one run's input: identical rows, conflicting rows, and later files winning."""

from __future__ import annotations

import numpy as np
import pandas as pd

from schemas.portal_claim import CLAIM_FIELDS
from schemas.reasons import Reason
from transform.arrow_ops import ascending, codes


def row_fingerprints(frame: pd.DataFrame, columns: list[str] | tuple[str, ...]) -> pd.Series:
    return pd.util.hash_pandas_object(frame[list(columns)].astype("string"), index=False)


def input_repeats(raw_claims: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(`repeat_reason`, `conflicting`) over the run's input rows, in file order then line order.

    `repeat_reason` marks rows that are not judged at all (outcome `duplicate`): an identical
    copy of an earlier row, or a claim that a later file states again (the later file wins).
    `conflicting` marks every row of a claim id stated twice in one file with different values.
    """
    reason = pd.Series(pd.NA, index=raw_claims.index, dtype="string")
    conflicting = pd.Series(False, index=raw_claims.index)
    # Only claim ids stated more than once can repeat: the rest (nearly all rows) skip the hashing.
    if ascending(raw_claims["claim_id"], strictly=True):  # each id once: nothing can repeat
        return reason, conflicting
    ids = codes(raw_claims["claim_id"])
    seen = np.bincount(ids[ids >= 0], minlength=1)
    repeated_ids = pd.Series((ids >= 0) & (seen[np.maximum(ids, 0)] > 1), index=raw_claims.index)
    if not repeated_ids.any():
        return reason, conflicting
    subset = raw_claims[repeated_ids]
    prints = row_fingerprints(subset, CLAIM_FIELDS)
    has_id = pd.Series(True, index=subset.index)
    keyed = pd.DataFrame({"claim_id": subset["claim_id"], "file_order": subset["file_order"], "print": prints})
    identical = has_id & keyed.duplicated(["claim_id", "print"], keep="first")
    last_file = keyed[has_id].groupby("claim_id")["file_order"].transform("max")
    superseded = has_id & (keyed["file_order"] < last_file.reindex(keyed.index))
    reason[superseded[superseded].index] = Reason.SUPERSEDED_BY_LATER_FILE.value
    repeated = identical & ~superseded
    reason[repeated[repeated].index] = Reason.REPEATED_IN_INPUT.value
    distinct = keyed[reason.reindex(keyed.index).isna()]
    variants = distinct.groupby(["file_order", "claim_id"])["print"].transform("nunique")
    conflicting[variants.index] = (variants > 1).to_numpy()
    return reason, conflicting
