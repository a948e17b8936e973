"""Counting a judged run: outcomes, carried-over claims and reasons (the `--json` contract)."""

from __future__ import annotations

import pandas as pd

from schemas.reasons import DELAY_PRECEDENCE, OUTCOMES, Outcome


class InvariantError(AssertionError):
    """Input rows do not equal the sum of outcomes: the run must not load."""


def run_counts(claims: pd.DataFrame, input_rows: int) -> dict:
    # Counted on the outcome and reason columns alone: selecting rows of the whole frame would
    # copy every column of a million claims.
    carried_rows = claims["from_ledger"].astype(bool)
    fresh = claims.loc[~carried_rows, "outcome"]
    counts = {"input_rows": int(input_rows)}
    by_outcome = fresh.value_counts()
    counts.update({o: int(by_outcome.get(o, 0)) for o in OUTCOMES})
    if sum(counts[o] for o in OUTCOMES) != input_rows or len(fresh) != input_rows:
        raise InvariantError(
            f"input rows ({input_rows}) != sum of outcomes ({sum(counts[o] for o in OUTCOMES)}); nothing was loaded"
        )
    # Exactly the three keys of the `--json` contract; a waiting claim that had been sent before
    # and is sent again (corrected) counts as submitted.
    carried_counts = claims.loc[carried_rows, "outcome"].value_counts()
    carried_over = {o: int(carried_counts.get(o, 0)) for o in ("submitted", "delayed", "rejected")}
    carried_over["submitted"] += int(carried_counts.get("corrected", 0))
    delays = {r.value for r in DELAY_PRECEDENCE}
    reasons: dict[str, dict[str, int]] = {"rejected": {}, "delayed": {}}
    for kind in ("rejected", "delayed"):
        codes = claims.loc[~carried_rows & (claims["outcome"] == kind), "reason"].value_counts().sort_index()
        reasons[kind] = {str(code): int(n) for code, n in codes.items()}
    assert all(code in delays for code in reasons["delayed"]), "a delay carries a delay reason"
    return {"counts": counts, "carried_over": carried_over, "reasons": reasons}


def outcome_of(claims: pd.DataFrame, outcome: Outcome) -> pd.DataFrame:
    return claims[claims["outcome"] == outcome.value]


def add_counts(total: dict | None, part: dict) -> dict:
    """Two `run_counts` results added up: a run judged in partitions counts as the whole run."""
    if total is None:
        return part
    reasons = {
        kind: {
            code: total["reasons"][kind].get(code, 0) + part["reasons"][kind].get(code, 0)
            for code in sorted({*total["reasons"][kind], *part["reasons"][kind]})
        }
        for kind in ("rejected", "delayed")
    }
    return {
        "counts": {k: total["counts"][k] + part["counts"][k] for k in total["counts"]},
        "carried_over": {k: total["carried_over"][k] + part["carried_over"][k] for k in total["carried_over"]},
        "reasons": reasons,
    }
