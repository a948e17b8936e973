"""One run's report, assembled from the ledger alone: deterministic for the same ledger state.

The flow writes the report before it closes its run record, so it passes what the ledger does
not hold yet (`RunEnding`: the status, the error, the input files of a run that failed before
its load committed). Regenerated later, the report reads all of it from the ledger.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pandas as pd
from sqlalchemy.engine import Connection, Engine

from load.reports import queries
from load.reports.complete import write_complete_listing
from load.reports.listings import KINDS, Listing, Scope, read_listing, what_to_do
from load.reports.reconcile import checks, reconciliation
from schemas.reasons import OUTCOMES

SHEET_ROWS = 1_000  # rows listed per sheet and page; a longer listing is complete in a CSV beside them
CARRIED_KINDS = ("submitted", "delayed", "rejected")
FILE_COLUMNS = ["role", "file", "rows", "SHA-256", "note"]
OUTPUT_COLUMNS = ["role", "file", "rows", "adds", "deletes", "SHA-256", "status"]


@dataclass(frozen=True)
class RunEnding:
    """What the flow knows when it writes the report, before `finish_run` records it."""

    status: str
    error: str | None = None
    input_files: pd.DataFrame | None = None  # role, file_name, rows, sha256, note


@dataclass(frozen=True)
class RunReport:
    run_id: str
    status: str
    error: str | None
    sent_note: str  # what reached the registry files (for a failed run: that nothing was sent)
    header: list[tuple[str, str]]  # label, value
    settings: list[tuple[str, str]]
    input_files: pd.DataFrame
    output_files: pd.DataFrame
    counts: dict[str, int]  # input_rows and each outcome of this run's input
    carried_over: dict[str, int]
    reasons: pd.DataFrame  # outcome, reason, claims, what to do
    checks: pd.DataFrame  # check, expected, found, holds
    reconciliation: pd.DataFrame  # per ACCME activity
    history: pd.DataFrame  # recent runs side by side, oldest first
    started_at: datetime  # as stored in the ledger: the scope of the listings
    as_of: date
    listings: dict[str, Listing] = field(default_factory=dict)
    generated_at: str = ""
    sheet_rows: int = SHEET_ROWS


def _stamp(value: datetime | None) -> str:
    value = queries.utc(value)
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else ""


def _files(frame: pd.DataFrame) -> pd.DataFrame:
    if frame is None or frame.empty:
        return pd.DataFrame(columns=FILE_COLUMNS)
    frame = frame.reset_index(drop=True)
    given = frame["rows"] if "rows" in frame else pd.Series(pd.NA, index=frame.index)
    note = frame["note"] if "note" in frame else pd.Series(None, index=frame.index, dtype=object)
    return pd.DataFrame(
        {
            "role": frame["role"].astype(str),
            "file": frame["file_name"].astype(str),
            "rows": pd.to_numeric(given, errors="coerce").astype("Int64"),
            "SHA-256": frame["sha256"].fillna(""),
            "note": note.astype(object).where(note.notna(), ""),
        }
    )


def _outputs(batches: pd.DataFrame, copies: pd.DataFrame) -> pd.DataFrame:
    main = pd.DataFrame(
        {
            "role": "registry",
            "file": batches["file_name"],
            "rows": batches["rows"].astype("Int64"),
            "adds": batches["adds"].astype("Int64"),
            "deletes": batches["deletes"].astype("Int64"),
            "SHA-256": batches["sha256"].fillna(""),
            "status": batches["status"].map({"written": "written", "committed": "NOT WRITTEN (pending)"}),
        },
        columns=OUTPUT_COLUMNS,
    )
    extra = copies[~copies["file_name"].isin(batches["file_name"])]
    text = pd.DataFrame(
        {"role": "registry (text copy)", "file": extra["file_name"], "SHA-256": extra["sha256"], "status": "written"},
        columns=OUTPUT_COLUMNS,
    )
    return pd.concat([main, text], ignore_index=True) if not text.empty else main


def _sent_note(status: str, batches: pd.DataFrame) -> str:
    files = ", ".join(batches["file_name"])
    pending = batches[batches["status"] != "written"]
    if batches.empty and status != "succeeded":  # failed, or never finished (a crashed run)
        return "Nothing was sent: no registry file was written and the ledger records no claim as sent by this run."
    if batches.empty:
        return "Nothing to send: no claim of this run goes to the registry."
    if not pending.empty:
        return (
            f"The ledger load of this run committed, but these registry files were not confirmed written: "
            f"{', '.join(pending['file_name'])}; the next run writes them from the ledger. "
            "Upload nothing from this run before that."
        )
    if status != "succeeded":
        return (
            f"The run failed after its load committed and its registry file(s) were written: {files}. "
            "The ledger records their rows as sent: upload them to PARS."
        )
    return f"Registry file(s) to upload to PARS: {files}."


def _history(conn: Connection, run: dict, current: dict[str, int], current_carried: int) -> pd.DataFrame:
    recent = queries.recent_runs(conn, run["started_at"])
    rows = []
    for r in recent.itertuples():  # at most HISTORY_RUNS rows
        stored = r.counts if isinstance(r.counts, dict) else {}
        if r.run_id == run["run_id"]:
            counts, carried = current, current_carried
        else:
            counts = stored.get("counts") or queries.fresh_outcome_counts(conn, r.run_id)
            carried = sum(stored.get("carried_over", {}).values())
        rows.append(
            {
                "run": r.run_id[:8],
                "started": _stamp(r.started_at)[:10],
                "as of": str(r.as_of),
                "status": r.status,
                "input rows": int(counts.get("input_rows", sum(counts.get(o, 0) for o in OUTCOMES))),
                **{o: int(counts.get(o, 0)) for o in OUTCOMES},
                "carried over": carried,
            }
        )
    return pd.DataFrame(rows)


def build_report(
    engine: Engine,
    run_id: str,
    *,
    now: datetime,
    ending: RunEnding | None = None,
    settings: Mapping[str, object] | None = None,
    sheet_rows: int = SHEET_ROWS,
    complete_dir: Path | None = None,
) -> RunReport:
    """The report of `run_id`; with `complete_dir`, a listing longer than `sheet_rows` is also
    written there complete as `<kind>.csv` while its first rows are read (one pass over the
    ledger per listing). One connection, one thread: listings written side by side on their own
    connections were slower on two shared cores and each connection's page cache added memory."""
    with engine.connect() as conn:
        run = queries.run_row(conn, run_id)
        open_run = run["status"] == "running"
        status = ending.status if (open_run and ending) else run["status"]
        error = (ending.error if (open_run and ending) else run["error"]) or None
        stored_inputs = queries.input_files(conn, run_id)
        inputs = stored_inputs if not stored_inputs.empty or ending is None else ending.input_files
        files = _files(inputs)
        batches = queries.run_batches(conn, run_id)
        groups = queries.outcome_groups(conn, run_id)
        sent = queries.sent_groups(conn, run_id)
        fresh = groups[~groups["carried"]]
        carried = groups[groups["carried"]]
        export_rows = files.loc[(files["role"] == "export") & (files["note"] == ""), "rows"]
        counts = {"input_rows": int(export_rows.fillna(0).sum())}
        by_outcome = fresh.groupby("outcome")["claims"].sum()
        counts.update({o: int(by_outcome.get(o, 0)) for o in OUTCOMES})
        carried_by = carried.groupby("outcome")["claims"].sum()
        carried_over = {o: int(carried_by.get(o, 0)) for o in CARRIED_KINDS}
        carried_over.update({str(o): int(n) for o, n in carried_by.items() if o not in CARRIED_KINDS})
        totals = {str(o): int(n) for o, n in groups.groupby("outcome")["claims"].sum().items()}
        scope = Scope(run_id, run["started_at"], run["as_of"])
        listings = {}
        for kind, (*_, outcomes) in KINDS.items():
            head = None
            if complete_dir is not None and sum(totals.get(o, 0) for o in outcomes) > sheet_rows:
                head = write_complete_listing(conn, kind, scope, sheet_rows, complete_dir)
            listings[kind] = read_listing(conn, kind, scope, totals, sheet_rows, head)
        history = _history(conn, run, counts, sum(carried_over.values()))
        copies = queries.registry_copies(conn, run_id)
    reasons = (
        groups[groups["reason"] != ""]
        .groupby(["outcome", "reason"], as_index=False)["claims"]
        .sum()
        .sort_values(["outcome", "reason"])
        .reset_index(drop=True)
    )
    reasons["what to do"] = what_to_do(reasons["reason"])
    header = [
        ("run id", run_id),
        ("status", status),
        ("trigger", run["trigger"]),
        ("triggered by", run["triggered_by"]),
        ("started", _stamp(run["started_at"])),
        ("finished", _stamp(run["finished_at"]) or "not recorded yet (the report is written as the run closes)"),
        ("as-of date", str(run["as_of"])),
        ("code version", run["code_version"]),
        ("dry run", "yes" if run["dry_run"] else "no"),
        ("host", run["host"] or ""),
    ]
    run_settings = [("cutoff (credit earned before it is rejected)", str(run["cutoff"]))]
    run_settings += [(str(k), str(v)) for k, v in (settings or {}).items()]
    failed_early = status == "failed" and groups.empty
    return RunReport(
        run_id=run_id,
        status=status,
        error=error,
        sent_note=_sent_note(status, batches),
        header=header,
        settings=run_settings,
        input_files=files,
        output_files=_outputs(batches, copies),
        counts=counts,
        carried_over=carried_over,
        reasons=reasons,
        checks=checks(counts, groups, batches, sent, failed_early=failed_early),
        reconciliation=reconciliation(groups, sent),
        history=history,
        started_at=run["started_at"],
        as_of=run["as_of"],
        listings=listings,
        generated_at=_stamp(now),
        sheet_rows=sheet_rows,
    )
