"""One run's judgement: every input row (and every claim waiting in the ledger) gets one outcome."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from schemas.reasons import DELAY_PRECEDENCE, REJECTION_PRECEDENCE, Outcome, Reason
from schemas.registry_row import REGISTRY_FIELDS
from transform.arrow_ops import isin, lookup, release_unused_memory, sorted_order, text_where
from transform.classify import classify_outcomes
from transform.duplicates import input_repeats
from transform.ledger_rules import cross_claim_defects
from transform.mapping import map_activities, mapping_defects
from transform.registry_rows import add_rows, registry_batch, sent_fingerprint
from transform.validate import first_reason, parse_claims, row_defects

SENT_COLUMNS = [
    "claim_id",
    "learner_id",
    "accme_activity_id",
    "completion",
    "credits_value",
    "fingerprint",
    "version",
    "live",
]
# Reasons after DUPLICATE_COMPLETION in precedence (CLAIM_REVOKED and the delays).
_ORDER = (*REJECTION_PRECEDENCE, *DELAY_PRECEDENCE)
CROSS_CLAIM_LATER = frozenset(_ORDER[_ORDER.index(Reason.DUPLICATE_COMPLETION) + 1 :])


@dataclass(frozen=True)
class LedgerView:
    """What the ledger knows that this run's judgement needs (read by `load`, judged here)."""

    pending: pd.DataFrame  # raw records of claims still waiting (delayed) from earlier runs
    sent: pd.DataFrame  # SENT_COLUMNS: every claim ever sent, `live` if the registry holds it now
    last_sent: pd.DataFrame  # claim_id + REGISTRY_FIELDS: the values of the Add the registry holds

    @classmethod
    def empty(cls, raw_columns: list[str]) -> LedgerView:
        return cls(
            pending=pd.DataFrame({c: pd.Series(dtype="string") for c in raw_columns}),
            sent=pd.DataFrame(
                {
                    "claim_id": pd.Series(dtype="string"),
                    "learner_id": pd.Series(dtype="string"),
                    "accme_activity_id": pd.Series(dtype="string"),
                    "completion": pd.Series(dtype="datetime64[ns]"),
                    "credits_value": pd.Series(dtype="float64"),
                    "fingerprint": pd.Series(dtype="string"),
                    "version": pd.Series(dtype="int64"),
                    "live": pd.Series(dtype=bool),
                }
            ),
            last_sent=pd.DataFrame(columns=["claim_id", *REGISTRY_FIELDS]),
        )


@dataclass(frozen=True)
class JudgedRun:
    claims: pd.DataFrame  # input rows then carried rows: record, outcome, reason, from_ledger, ...
    registry_rows: pd.DataFrame  # claim_id, version, REGISTRY_FIELDS in batch order


def judge_run(
    raw_claims: pd.DataFrame,
    activity_map: pd.DataFrame,
    ledger: LedgerView,
    *,
    cutoff: pd.Timestamp,
    as_of: pd.Timestamp,
    input_rows: np.ndarray | None = None,
) -> JudgedRun:
    """`input_rows`: the run-wide numbers of `raw_claims`' rows when they are one partition of a
    run (`transform.partitions`); by default the rows are the whole run's, numbered from 0."""
    raw = raw_claims.reset_index(drop=True)
    if input_rows is not None:
        raw.index = pd.Index(np.asarray(input_rows, dtype=np.int64))
    repeat_reason, conflicting = input_repeats(raw)
    repeats = repeat_reason.notna()
    # Selecting every row would still copy every column: only filter when there is a repeat.
    fresh = (raw[~repeats] if repeats.any() else raw).assign(from_ledger=False)
    waiting = ledger.pending[~isin(ledger.pending["claim_id"], raw["claim_id"])]
    candidates = pd.concat([fresh, waiting.assign(from_ledger=True, file_order=-1)], ignore_index=False)
    candidates = candidates.reset_index(names="input_row")
    candidates.loc[candidates["from_ledger"], "input_row"] = -1

    typed = map_activities(parse_claims(candidates), activity_map)
    masks = row_defects(typed, cutoff=cutoff, as_of=as_of)
    masks.update(mapping_defects(typed))
    masks[Reason.CONFLICTING_DUPLICATE] = pd.Series(
        typed["input_row"].map(conflicting).fillna(False).astype(bool), index=typed.index
    )
    live = ledger.sent[ledger.sent["live"].astype(bool)]
    # Revocation of a claim the registry holds is an outcome, not a defect: leave it to classify.
    held_now = isin(typed["claim_id"], live["claim_id"])
    masks[Reason.CLAIM_REVOKED] = masks[Reason.CLAIM_REVOKED] & ~held_now
    blocking = [r for r in (*REJECTION_PRECEDENCE, *DELAY_PRECEDENCE) if r in masks]
    sendable = ~_any_of(masks, blocking, typed.index)
    # Held back only by reasons that rank after the cross-claim rules: still measured against them.
    earlier = [r for r in blocking if r not in CROSS_CLAIM_LATER]
    contenders = ~_any_of(masks, earlier, typed.index)
    cross = cross_claim_defects(typed, sendable, live, contenders)
    masks[Reason.DUPLICATE_COMPLETION] = cross[Reason.DUPLICATE_COMPLETION]
    masks[Reason.CREDITS_EXCEED_ACTIVITY_MAX] = (
        masks[Reason.CREDITS_EXCEED_ACTIVITY_MAX] | cross[Reason.CREDITS_EXCEED_ACTIVITY_MAX]
    )
    rejection = first_reason(masks, REJECTION_PRECEDENCE, typed.index)
    delay = first_reason(masks, DELAY_PRECEDENCE, typed.index)
    typed["reason"] = text_where(rejection, rejection.notna(), delay)

    adds = add_rows(typed)
    typed["fingerprint"] = text_where(sent_fingerprint(adds), typed["accme_activity_id"].notna())
    outcomes = classify_outcomes(typed, live)
    judged = typed.assign(outcome=outcomes["outcome"])
    judged["reason"] = outcomes["reason"]

    versions = lookup(judged["claim_id"], ledger.sent.set_index("claim_id")["version"]).fillna(0).astype("int64")
    adding = judged["outcome"].isin([Outcome.SUBMITTED.value, Outcome.CORRECTED.value])
    judged["new_version"] = versions + adding.astype("int64")
    live_prints = live.set_index("claim_id")["fingerprint"]
    judged["was_live"] = isin(judged["claim_id"], live_prints.index)
    judged["live_fingerprint"] = lookup(judged["claim_id"], live_prints).astype("string")
    sent_versions = ledger.sent.set_index("claim_id")["version"]
    registry_rows = registry_batch(judged, adds, ledger.last_sent, sent_versions)
    del adds, masks, typed  # what the claims below no longer need
    duplicates = raw[repeats].assign(outcome=Outcome.DUPLICATE.value, reason=repeat_reason[repeats], from_ledger=False)
    duplicates = duplicates.reset_index(names="input_row")
    claims = pd.concat([judged, duplicates], ignore_index=True)
    order = sorted_order(claims, ["from_ledger", "input_row"])
    if (order != np.arange(len(claims))).any():  # already in order (no repeats): spare the copy
        claims = claims.take(order)
    release_unused_memory()
    return JudgedRun(claims=claims.reset_index(drop=True), registry_rows=registry_rows)


def _any_of(masks: dict[Reason, pd.Series], reasons: list[Reason], index: pd.Index) -> pd.Series:
    held = np.logical_or.reduce([masks[r].to_numpy(dtype=bool, na_value=False) for r in reasons])
    return pd.Series(held, index=index)
