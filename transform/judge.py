"""One run's judgement: every input row (and every claim waiting in the ledger) gets one outcome."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from schemas.reasons import DELAY_PRECEDENCE, REJECTION_PRECEDENCE, Outcome, Reason
from schemas.registry_row import REGISTRY_FIELDS
from transform.arrow_ops import isin
from transform.classify import classify_outcomes
from transform.duplicates import input_repeats
from transform.ledger_rules import cross_claim_defects
from transform.mapping import map_activities, mapping_defects
from transform.registry_rows import add_rows, order_batch, sent_fingerprint
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
) -> JudgedRun:
    raw = raw_claims.reset_index(drop=True)
    repeat_reason, conflicting = input_repeats(raw)
    fresh = raw[repeat_reason.isna()].assign(from_ledger=False)
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
    # Revocation of a claim the registry holds is an outcome, not a defect: leave it to classify.
    held_now = isin(typed["claim_id"], ledger.sent.loc[ledger.sent["live"].astype(bool), "claim_id"])
    masks[Reason.CLAIM_REVOKED] = masks[Reason.CLAIM_REVOKED] & ~held_now
    blocking = [r for r in (*REJECTION_PRECEDENCE, *DELAY_PRECEDENCE) if r in masks]
    sendable = ~pd.concat([masks[r] for r in blocking], axis=1).any(axis=1)
    # Held back only by reasons that rank after the cross-claim rules: still measured against them.
    earlier = [r for r in blocking if r not in CROSS_CLAIM_LATER]
    contenders = ~pd.concat([masks[r] for r in earlier], axis=1).any(axis=1)
    cross = cross_claim_defects(typed, sendable, ledger.sent[ledger.sent["live"].astype(bool)], contenders)
    masks[Reason.DUPLICATE_COMPLETION] = cross[Reason.DUPLICATE_COMPLETION]
    masks[Reason.CREDITS_EXCEED_ACTIVITY_MAX] = (
        masks[Reason.CREDITS_EXCEED_ACTIVITY_MAX] | cross[Reason.CREDITS_EXCEED_ACTIVITY_MAX]
    )
    rejection = first_reason(masks, REJECTION_PRECEDENCE, typed.index)
    delay = first_reason(masks, DELAY_PRECEDENCE, typed.index)
    typed["reason"] = rejection.fillna(delay)

    adds = add_rows(typed)
    typed["fingerprint"] = sent_fingerprint(adds).where(typed["accme_activity_id"].notna())
    judged = typed.join(classify_outcomes(typed, ledger.sent[ledger.sent["live"].astype(bool)]), rsuffix="_final")
    judged["reason"] = judged.pop("reason_final")

    versions = judged["claim_id"].map(ledger.sent.set_index("claim_id")["version"]).fillna(0).astype("int64")
    adding = judged["outcome"].isin([Outcome.SUBMITTED.value, Outcome.CORRECTED.value])
    judged["new_version"] = versions + adding.astype("int64")
    live_prints = ledger.sent.loc[ledger.sent["live"].astype(bool)].set_index("claim_id")["fingerprint"]
    judged["was_live"] = isin(judged["claim_id"], live_prints.index)
    judged["live_fingerprint"] = judged["claim_id"].map(live_prints).astype("string")
    registry_rows = _registry_rows(judged, adds, ledger)
    duplicates = raw[repeat_reason.notna()].assign(
        outcome=Outcome.DUPLICATE.value, reason=repeat_reason[repeat_reason.notna()], from_ledger=False
    )
    duplicates = duplicates.reset_index(names="input_row")
    claims = pd.concat([judged, duplicates], ignore_index=True)
    claims = claims.sort_values(["from_ledger", "input_row"], kind="stable").reset_index(drop=True)
    return JudgedRun(claims=claims, registry_rows=registry_rows)


def _registry_rows(judged: pd.DataFrame, adds: pd.DataFrame, ledger: LedgerView) -> pd.DataFrame:
    outcome = judged["outcome"]
    to_add = outcome.isin([Outcome.SUBMITTED.value, Outcome.CORRECTED.value])
    to_delete = outcome.isin([Outcome.CORRECTED.value, Outcome.REVOKED.value])
    new_adds = adds[to_add].assign(version=judged.loc[to_add, "new_version"])
    deleted_ids = judged.loc[to_delete, "claim_id"]
    deletes = ledger.last_sent[isin(ledger.last_sent["claim_id"], deleted_ids)].assign(action="Delete")
    deletes = deletes.assign(version=deletes["claim_id"].map(ledger.sent.set_index("claim_id")["version"]))
    columns = ["claim_id", "version", *REGISTRY_FIELDS]
    rows = pd.concat([deletes[columns], new_adds[columns]], ignore_index=True)
    rows = rows.astype({c: "string" for c in ["claim_id", *REGISTRY_FIELDS]}).astype({"version": "int64"})
    return order_batch(rows)
