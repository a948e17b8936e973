"""Test helpers for judging: ledger views with earlier sends, several files in one run, reasons by claim."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from extract import read_activity_map, read_portal_export
from schemas.portal_claim import CLAIM_FIELDS, SOURCE_COLUMNS
from schemas.registry_row import REGISTRY_FIELDS
from tests.factories import write_export, write_map
from transform.judge import SENT_COLUMNS, JudgedRun, LedgerView, judge_run
from transform.mapping import usable_activity_map

AS_OF = pd.Timestamp("2026-11-26")
CUTOFF = pd.Timestamp("2023-07-01")


def sent_row(
    claim_id: str,
    learner_id: str,
    accme_activity_id: str = "202312345",
    completion: str = "2026-09-01",
    credits: float = 1.0,
    *,
    live: bool = True,
) -> dict:
    """One claim the registry was sent earlier (what `load` reads back from the ledger)."""
    return {
        "claim_id": claim_id,
        "learner_id": learner_id,
        "accme_activity_id": accme_activity_id,
        "completion": pd.Timestamp(completion),
        "credits_value": float(credits),
        "fingerprint": f"fp-{claim_id}",
        "version": 1,
        "live": live,
    }


def ledger_with_sent(rows: list[dict]) -> LedgerView:
    """A ledger view that holds `rows` as earlier sends and nothing pending."""
    empty = LedgerView.empty([*CLAIM_FIELDS, *SOURCE_COLUMNS])
    sent = pd.DataFrame(rows, columns=SENT_COLUMNS).astype(
        {
            "claim_id": "string",
            "learner_id": "string",
            "accme_activity_id": "string",
            "completion": "datetime64[ns]",
            "credits_value": "float64",
            "fingerprint": "string",
            "version": "int64",
            "live": bool,
        }
    )
    last_sent = pd.DataFrame(
        {
            "claim_id": sent["claim_id"],
            **{f: pd.Series(pd.NA, index=sent.index, dtype="string") for f in REGISTRY_FIELDS},
        }
    )
    return LedgerView(pending=empty.pending, sent=sent, last_sent=last_sent)


def judge_files(
    tmp_path: Path,
    files: list[list[dict]],
    map_rows: list[dict] | None = None,
    *,
    ledger: LedgerView | None = None,
    as_of: pd.Timestamp = AS_OF,
) -> JudgedRun:
    """Several exports in one run, in order (a later file's version of a claim wins)."""
    frames = []
    for order, rows in enumerate(files):
        path = write_export(tmp_path / f"export_{order}.csv", rows)
        frames.append(read_portal_export(path).assign(file_order=order))
    raw = pd.concat(frames, ignore_index=True)
    activity_map = usable_activity_map(read_activity_map(write_map(tmp_path / "map.csv", map_rows)))
    view = ledger if ledger is not None else LedgerView.empty([*CLAIM_FIELDS, *SOURCE_COLUMNS])
    return judge_run(raw, activity_map, view, cutoff=CUTOFF, as_of=as_of)


def outcome_by_claim(judged: JudgedRun) -> dict[str, tuple[str, object]]:
    """claim id -> (outcome, reason) for fresh rows whose claim id is unique in the input."""
    fresh = judged.claims[~judged.claims["from_ledger"].astype(bool)]
    return {
        str(r.claim_id): (str(r.outcome), None if pd.isna(r.reason) else str(r.reason))
        for r in fresh.itertuples()
        if pd.notna(r.claim_id)
    }


def only(judged: JudgedRun) -> tuple[str, object]:
    """(outcome, reason) of a run judged on exactly one row."""
    claims = judged.claims
    assert len(claims) == 1, claims[["claim_id", "outcome", "reason"]]
    reason = claims["reason"].iloc[0]
    return str(claims["outcome"].iloc[0]), None if pd.isna(reason) else str(reason)
