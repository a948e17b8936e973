"""A small ledger written row by row, so the report tests do not depend on how claims are judged.

Three runs: a scheduled run that sent two claims and held three back; a run that failed on a
bad export; and the run under test, which corrects one claim, withdraws another, sends a claim
that waited since the first run, rejects names that look like formulas and repeats a row.
Every person here is invented.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
from sqlalchemy.engine import Engine

from load.ledger.database import open_ledger
from load.ledger.tables import batches, claims, run_files, run_outcomes, runs, sent_rows
from schemas.portal_claim import CLAIM_FIELDS
from schemas.registry_row import REGISTRY_FIELDS

RUN_1 = "11111111-1111-4111-8111-111111111111"
RUN_FAILED = "1f1f1f1f-1f1f-4f1f-8f1f-1f1f1f1f1f1f"
RUN_2 = "22222222-2222-4222-8222-222222222222"
RUN_OPEN = "33333333-3333-4333-8333-333333333333"
FROZEN_NOW = datetime(2026, 11, 12, 17, 30, tzinfo=UTC)
SHA = {name: (ch * 64) for name, ch in (("e1", "a"), ("m", "b"), ("e2", "c"), ("b1", "d"), ("b2", "e"), ("bad", "f"))}
FORMULA_LAST_NAME = '=HYPERLINK("http://example.invalid","click")'
FORMULA_FIRST_NAME = "@SUM(A1:A9)"
PLUS_LEARNER = "+15550100"
MARKUP_LAST_NAME = "O'Demo <b>&amp"

COUNTS_1 = {
    "counts": {
        "input_rows": 5,
        "submitted": 2,
        "corrected": 0,
        "revoked": 0,
        "delayed": 2,
        "rejected": 1,
        "unchanged": 0,
        "duplicate": 0,
    },
    "carried_over": {"submitted": 0, "delayed": 0, "rejected": 0},
    "reasons": {
        "rejected": {"EARNED_BEFORE_CUTOFF": 1},
        "delayed": {"ACTIVITY_NOT_MAPPED": 1, "LEARNER_IDENTITY_INCOMPLETE": 1},
    },
}
COUNTS_FAILED = {
    "counts": {"input_rows": 0, **dict.fromkeys(COUNTS_1["counts"].keys() - {"input_rows"}, 0)},
    "carried_over": {"submitted": 0, "delayed": 0, "rejected": 0},
    "reasons": {"rejected": {}, "delayed": {}},
}
LEARNER_NAMES = (
    "Avery",
    "Testwell",
    "Blair",
    "Samplesson",
    "Casey",
    "Mockford",
    "Dana",
    "Exampleton",
    "Emery",
    "Placeholder",
    "Drew",
    "Fakerley",
    "Finley",
    "O'Demo",
    FORMULA_FIRST_NAME,
    FORMULA_LAST_NAME,
)


def _at(day: int, hour: int = 16, minute: int = 0) -> datetime:
    return datetime(2026, 10 if day > 20 else 11, day, hour, minute, tzinfo=UTC)


def _run(run_id: str, started: datetime, finished: datetime | None, status: str, **values: object) -> dict:
    return {
        "run_id": run_id,
        "trigger": "schedule",
        "triggered_by": "prefect-schedule",
        "started_at": started,
        "finished_at": finished,
        "as_of": started.date(),
        "status": status,
        "dry_run": False,
        "code_version": "0.1.0+abc1234",
        "cutoff": date(2023, 7, 1),
        "counts": None,
        "error": None,
        "host": "reports-test",
        "pid": 4242,
        **values,
    }


def _claim(
    claim_id: str,
    learner: str,
    first: str,
    last: str,
    activity: str,
    credits: str,
    completed: str,
    state: str,
    reason: str | None,
    run_id: str,
    line: int,
    accme: str | None,
    **extra: object,
) -> dict:
    row = dict.fromkeys(CLAIM_FIELDS)
    row.update(
        claim_id=claim_id,
        learner_id=learner,
        first_name=first,
        last_name=last,
        portal_activity_id=activity,
        credit_type="AMA PRA Category 1 Credit™",
        credits=credits,
        completion_date=completed,
        claim_date=completed,
        degree="MD",
    )
    started = _at(29) if run_id == RUN_1 else _at(12)
    return {
        **row,
        "source_file": f"portal_export_{started:%Y-%m-%d}.csv",
        "source_line": line,
        "accme_activity_id": accme,
        "state": state,
        "reason": reason,
        "first_seen_run": run_id,
        "first_seen_at": started,
        "state_changed_at": started,
        "delayed_since": None,
        "last_run_id": RUN_2,
        "sent_version": 0,
        "live": False,
        "fingerprint": None,
        **extra,
    }


def _sent(
    batch: str,
    row_no: int,
    claim_id: str,
    version: int,
    action: str,
    accme: str,
    completed: str,
    first: str,
    last: str,
    credits: str,
) -> dict:
    row = dict.fromkeys(REGISTRY_FIELDS)
    row.update(
        action=action,
        accme_activity_id=accme,
        completion_date=completed,
        first_name=first,
        last_name=last,
        birth_mmdd="04/12",
        license_state="California",
        license_or_npi="1234567893",
        credits=credits,
    )
    return {"batch_id": batch, "row_no": row_no, "claim_id": claim_id, "version": version, **row}


def _outcome(
    run_id: str,
    seq: int,
    claim_id: str | None,
    outcome: str,
    reason: str | None,
    line: int | None,
    carried: bool,
    accme: str | None,
    credits: float | None,
    source: str,
) -> dict:
    return {
        "run_id": run_id,
        "seq": seq,
        "claim_id": claim_id,
        "outcome": outcome,
        "reason": reason,
        "source_file": source,
        "source_line": line,
        "carried": carried,
        "accme_activity_id": accme,
        "credits": credits,
    }


def _uniform(rows: list[dict]) -> list[dict]:
    keys = sorted({k for row in rows for k in row})
    return [{k: row.get(k) for k in keys} for row in rows]


def build_ledger(folder: Path, *, open_run: bool = False) -> Engine:
    """The three runs (and, with `open_run`, a fourth still `running` that failed before loading)."""
    engine = open_ledger(f"sqlite:///{folder / 'ledger.db'}")
    e1, e2 = "portal_export_2026-10-29.csv", "portal_export_2026-11-12.csv"
    b1, b2 = "PARS-20261029-11111111-01", "PARS-20261112-22222222-01"
    with engine.begin() as conn:
        conn.execute(
            runs.insert(),
            [
                _run(RUN_1, _at(29), _at(29, 16, 1), "succeeded", counts=COUNTS_1),
                _run(
                    RUN_FAILED,
                    _at(5),
                    _at(5, 16, 0),
                    "failed",
                    counts=COUNTS_FAILED,
                    trigger="manual",
                    triggered_by="casey.office",
                    error="portal_export_bad.csv: required columns missing: credits",
                ),
                _run(RUN_2, _at(12), _at(12, 16, 2), "succeeded", trigger="manual", triggered_by="avery.office"),
            ],
        )
        conn.execute(
            run_files.insert(),
            _uniform(
                [
                    {"run_id": RUN_1, "role": "export", "file_name": e1, "sha256": SHA["e1"], "rows": 5},
                    {
                        "run_id": RUN_1,
                        "role": "mappings",
                        "file_name": "activity_map.csv",
                        "sha256": SHA["m"],
                        "rows": 3,
                    },
                    {"run_id": RUN_1, "role": "registry", "file_name": b1 + ".xlsx", "sha256": SHA["b1"]},
                    {"run_id": RUN_2, "role": "export", "file_name": e2, "sha256": SHA["e2"], "rows": 6},
                    {
                        "run_id": RUN_2,
                        "role": "export",
                        "file_name": e1,
                        "sha256": SHA["e1"],
                        "note": f"skipped: already ingested by run {RUN_1}",
                    },
                    {
                        "run_id": RUN_2,
                        "role": "mappings",
                        "file_name": "activity_map.csv",
                        "sha256": SHA["m"],
                        "rows": 3,
                    },
                    {"run_id": RUN_2, "role": "registry", "file_name": b2 + ".xlsx", "sha256": SHA["b2"]},
                    {"run_id": RUN_2, "role": "report", "file_name": "report.xlsx", "sha256": "0" * 64},
                ]
            ),
        )
        conn.execute(
            batches.insert(),
            [
                {
                    "batch_id": b1,
                    "run_id": RUN_1,
                    "part": 1,
                    "created_at": _at(29),
                    "file_name": b1 + ".xlsx",
                    "sha256": SHA["b1"],
                    "rows": 2,
                    "adds": 2,
                    "deletes": 0,
                    "status": "written",
                },
                {
                    "batch_id": b2,
                    "run_id": RUN_2,
                    "part": 1,
                    "created_at": _at(12),
                    "file_name": b2 + ".xlsx",
                    "sha256": SHA["b2"],
                    "rows": 5,
                    "adds": 3,
                    "deletes": 2,
                    "status": "written",
                },
            ],
        )
        conn.execute(
            sent_rows.insert(),
            [
                _sent(b1, 1, "C000001", 1, "Add", "202312345", "10/01/2026", "Avery", "Testwell", "1.5"),
                _sent(b1, 2, "C000002", 1, "Add", "202412346", "10/02/2026", "Blair", "Samplesson", "2"),
                _sent(b2, 1, "C000001", 1, "Delete", "202312345", "10/01/2026", "Avery", "Testwell", "1.5"),
                _sent(b2, 2, "C000002", 1, "Delete", "202412346", "10/02/2026", "Blair", "Samplesson", "2"),
                _sent(b2, 3, "C000001", 2, "Add", "202312345", "10/03/2026", "Avery", "Testwell", "2"),
                _sent(b2, 4, "C000003", 1, "Add", "202312345", "10/05/2026", "Casey", "Mockford", "1"),
                _sent(b2, 5, "C000006", 1, "Add", "202412346", "11/02/2026", "Drew", "Fakerley", "0.5"),
            ],
        )
        conn.execute(
            claims.insert(),
            _uniform(
                [
                    _claim(
                        "C000001",
                        "L00001",
                        "Avery",
                        "Testwell",
                        "ACT-1",
                        "2",
                        "2026-10-03",
                        "corrected",
                        "VALUES_CHANGED",
                        RUN_1,
                        2,
                        "202312345",
                        sent_version=2,
                        live=True,
                    ),
                    _claim(
                        "C000002",
                        "L00002",
                        "Blair",
                        "Samplesson",
                        "ACT-2",
                        "2",
                        "2026-10-02",
                        "revoked",
                        "REVOKED_AFTER_SENT",
                        RUN_1,
                        3,
                        "202412346",
                        sent_version=1,
                    ),
                    _claim(
                        "C000003",
                        "L00003",
                        "Casey",
                        "Mockford",
                        "ACT-1",
                        "1",
                        "2026-10-05",
                        "submitted",
                        None,
                        RUN_1,
                        4,
                        "202312345",
                        sent_version=1,
                        live=True,
                    ),
                    _claim(
                        "C000004",
                        "L00004",
                        "Dana",
                        "Exampleton",
                        "ACT-1",
                        "1",
                        "2023-06-30",
                        "rejected",
                        "EARNED_BEFORE_CUTOFF",
                        RUN_1,
                        5,
                        "202312345",
                    ),
                    _claim(
                        "C000005",
                        "L00005",
                        "Emery",
                        "Placeholder",
                        "ACT-1",
                        "1",
                        "2026-10-07",
                        "delayed",
                        "LEARNER_IDENTITY_INCOMPLETE",
                        RUN_1,
                        6,
                        "202312345",
                        delayed_since=_at(29),
                    ),
                    _claim(
                        "C000006",
                        "L00006",
                        "Drew",
                        "Fakerley",
                        "ACT-2",
                        "0.5",
                        "2026-11-02",
                        "submitted",
                        None,
                        RUN_2,
                        4,
                        "202412346",
                        sent_version=1,
                        live=True,
                    ),
                    _claim(
                        "C000007",
                        PLUS_LEARNER,
                        FORMULA_FIRST_NAME,
                        FORMULA_LAST_NAME,
                        "ACT-1",
                        "1",
                        "2026-11-03",
                        "rejected",
                        "FORMULA_LIKE_TEXT",
                        RUN_2,
                        6,
                        "202312345",
                    ),
                    _claim(
                        "C000008",
                        "L00008",
                        "Finley",
                        MARKUP_LAST_NAME,
                        "ACT-2",
                        "1",
                        "2026-11-04",
                        "rejected",
                        "NOT_PHYSICIAN",
                        RUN_2,
                        7,
                        "202412346",
                    ),
                ]
            ),
        )
        conn.execute(
            run_outcomes.insert(),
            [
                _outcome(RUN_1, 0, "C000001", "submitted", None, 2, False, "202312345", 1.5, e1),
                _outcome(RUN_1, 1, "C000002", "submitted", None, 3, False, "202412346", 2.0, e1),
                _outcome(RUN_1, 2, "C000003", "delayed", "ACTIVITY_NOT_MAPPED", 4, False, None, 1.0, e1),
                _outcome(RUN_1, 3, "C000004", "rejected", "EARNED_BEFORE_CUTOFF", 5, False, "202312345", 1.0, e1),
                _outcome(RUN_1, 4, "C000005", "delayed", "LEARNER_IDENTITY_INCOMPLETE", 6, False, "202312345", 1.0, e1),
                _outcome(RUN_2, 0, "C000001", "corrected", "VALUES_CHANGED", 2, False, "202312345", 2.0, e2),
                _outcome(RUN_2, 1, "C000002", "revoked", "REVOKED_AFTER_SENT", 3, False, "202412346", 2.0, e2),
                _outcome(RUN_2, 2, "C000006", "submitted", None, 4, False, "202412346", 0.5, e2),
                _outcome(RUN_2, 3, "C000006", "duplicate", "REPEATED_IN_INPUT", 5, False, "202412346", 0.5, e2),
                _outcome(RUN_2, 4, "C000007", "rejected", "FORMULA_LIKE_TEXT", 6, False, "202312345", 1.0, e2),
                _outcome(RUN_2, 5, "C000008", "rejected", "NOT_PHYSICIAN", 7, False, "202412346", 1.0, e2),
                _outcome(RUN_2, 6, "C000003", "submitted", None, 4, True, "202312345", 1.0, e1),
                _outcome(RUN_2, 7, "C000005", "delayed", "LEARNER_IDENTITY_INCOMPLETE", 6, True, "202312345", 1.0, e1),
            ],
        )
        if open_run:  # started, then failed before its load: no outcomes, inputs known only to the flow
            conn.execute(
                runs.insert(), [_run(RUN_OPEN, _at(19), None, "running", trigger="manual", triggered_by="avery.office")]
            )
    return engine


def failed_inputs() -> pd.DataFrame:
    """What the flow knew about its inputs when it failed before the load (nothing in the ledger)."""
    return pd.DataFrame(
        [{"role": "export", "file_name": "portal_export_2026-11-19.csv", "sha256": "9" * 64, "note": None}]
    )
