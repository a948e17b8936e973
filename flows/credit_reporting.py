"""The `credit-reporting` flow: portal exports in; ledger, registry batch files and report out.

Each task names one stage; the logic lives in the stage packages. Parameters are paths and
dates only, never learner data (Prefect stores and shows them).
"""

from __future__ import annotations

import getpass
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.states import Failed
from prefect.task_runners import ThreadPoolTaskRunner

from extract import read_activity_map, read_portal_export
from extract.errors import ExtractError
from extract.inbox import describe_inputs, discover_exports
from flows import prefer_jemalloc
from flows.context import RunContext, code_version, output_file_row, resolve_as_of
from flows.notify import notify_failure
from flows.partitioned import (
    judge_and_load_partitions,
    plan_run_partitions,
    spill_exports,
    spill_folder,
    streams_run,
)
from flows.progress import FileProgress
from flows.quiet_logs import EXPECTED_FAILURES, quiet_expected_failures
from flows.retries import retriable as _retriable
from flows.settings import Settings
from load.archive import archive_exports
from load.drafts import BatchDrafts, drafted, sweep_stale_drafts
from load.errors import RunLockedError
from load.ledger.database import open_ledger
from load.ledger.lock import acquire_run_lock, release_run_lock
from load.ledger.runs import (
    batch_rows,
    close_interrupted_runs,
    finish_run,
    record_archived_paths,
    record_output_files,
    run_batches,
    start_run,
    unfinished_batches,
)
from load.ledger.state import ingested_checksums, read_ledger_view
from load.ledger.write import BatchPlan, commit_load, mark_batch_written, plan_batches
from load.registry_file import draft_batch_files, publish_drafts
from load.reports import RunEnding, write_report_files
from load.xlsx_writer import DraftFile
from transform.judge import JudgedRun, LedgerView, judge_run
from transform.mapping import usable_activity_map
from transform.summary import run_counts

prefer_jemalloc()  # every process that runs the flow imports this module first


def run_summary(state) -> dict:  # type: ignore[no-untyped-def]
    """The `--json` object of a finished flow run's state, failed or not."""
    result = state.result(raise_on_failure=False)
    if isinstance(result, dict):
        return result
    raise RuntimeError(f"the flow run ended in state {state.type.value} without a summary")


@task(cache_policy=NO_CACHE)
def plan_inputs(ctx: RunContext, exports: list[str] | None) -> pd.DataFrame:
    """Export files for this run with checksums; ones already ingested are marked skipped."""
    paths = [Path(p) for p in exports] if exports else discover_exports(ctx.settings.inbox)
    files = describe_inputs(paths, "export")
    seen = ingested_checksums(ctx.engine, files["sha256"].tolist()) if not files.empty else {}
    files["note"] = files["sha256"].map(
        lambda sha: f"skipped: already ingested by run {seen[sha]}" if sha in seen else None
    )
    repeated = files["sha256"].duplicated()
    files.loc[repeated & files["note"].isna(), "note"] = "skipped: same file given twice"
    logger = get_run_logger()
    for row in files.itertuples():
        (logger.warning if row.note else logger.info)(
            "export %s sha256=%s %s", row.file_name, row.sha256[:12], row.note or "to ingest"
        )
    return files


@task(cache_policy=NO_CACHE)
def read_export(path: str) -> pd.DataFrame:
    raw = read_portal_export(Path(path))
    get_run_logger().info("read %s: %d rows", Path(path).name, len(raw))
    return raw


def extract_claims(files: pd.DataFrame) -> pd.DataFrame:
    """`raw_claims` of every export to ingest, in file order (a later file's claim wins).

    Each export is read by its own task, concurrently on the flow's task runner.
    """
    to_read = files[files["note"].isna()]
    futures = [read_export.submit(path) for path in to_read["path"]]
    frames = []
    with FileProgress(len(to_read)) as progress:  # drawn on a terminal only
        for order, (future, name) in enumerate(zip(futures, to_read["file_name"], strict=True)):
            raw = future.result()
            frames.append(raw.assign(file_order=order))
            progress.file_done(name, len(raw))
    return pd.concat(frames, ignore_index=True) if frames else _empty_claims()


def _with_row_counts(files: pd.DataFrame, file_rows: list[int]) -> pd.DataFrame:
    """`rows` of each ingested export (in file order); skipped ones have none."""
    return files.assign(rows=pd.Series(file_rows, index=files.index[files["note"].isna()]))


def _rows_per_file(files: pd.DataFrame, raw_claims: pd.DataFrame) -> list[int]:
    ingested = int(files["note"].isna().sum())
    return raw_claims.groupby("file_order").size().reindex(range(ingested), fill_value=0).tolist()


def _empty_claims() -> pd.DataFrame:
    from schemas.portal_claim import CLAIM_FIELDS

    frame = pd.DataFrame({c: pd.Series(dtype="string") for c in CLAIM_FIELDS})
    frame["source_file"] = pd.Series(dtype="string")
    frame["source_line"] = pd.Series(dtype="int64")
    frame["file_order"] = pd.Series(dtype="int64")
    return frame


@task(cache_policy=NO_CACHE)
def extract_activity_map(path: Path) -> pd.DataFrame:
    activity_map = usable_activity_map(read_activity_map(path))
    get_run_logger().info("activity map %s: %d portal activities", path.name, len(activity_map))
    return activity_map


@task(cache_policy=NO_CACHE, retries=3, retry_delay_seconds=[1, 4, 16], retry_condition_fn=_retriable)
def read_ledger(ctx: RunContext, raw_claims: pd.DataFrame) -> LedgerView:
    return read_ledger_view(ctx.engine, run_keys=raw_claims[["claim_id", "learner_id"]])


@task(cache_policy=NO_CACHE)
def judge_claims(
    ctx: RunContext, raw_claims: pd.DataFrame, activity_map: pd.DataFrame, ledger: LedgerView
) -> JudgedRun:
    return judge_run(
        raw_claims, activity_map, ledger, cutoff=pd.Timestamp(ctx.settings.cutoff), as_of=pd.Timestamp(ctx.as_of)
    )


@task(cache_policy=NO_CACHE, retries=3, retry_delay_seconds=[1, 4, 16], retry_condition_fn=_retriable)
def load_submission(ctx: RunContext, judged: JudgedRun, plans: list[BatchPlan], files: pd.DataFrame) -> None:
    """One transaction: claims, the batches and the exact rows sent, the run's outcomes."""
    commit_load(ctx.engine, run_id=ctx.run_id, now=ctx.started_at, judged=judged.claims, plans=plans, input_files=files)
    get_run_logger().info("loaded %d registry rows in %d batch(es)", len(judged.registry_rows), len(plans))


@task(cache_policy=NO_CACHE)
def write_registry_files(ctx: RunContext, plans: list[BatchPlan], drafts: BatchDrafts) -> list[Path]:
    """Put each committed batch's drafted files in the outbox under their names."""
    written = []
    for plan in plans:
        written += _write_batch(ctx, plan.batch_id, plan.file_name, drafts.take(plan.batch_id))
    return written


def _write_batch(ctx: RunContext, batch_id: str, file_name: str, drafts: list[DraftFile]) -> list[Path]:
    sha = publish_drafts(drafts)
    mark_batch_written(ctx.engine, batch_id, sha)
    get_run_logger().info("wrote %s (sha256=%s)", file_name, sha[:12])
    return [draft.path for draft in drafts]


@task(cache_policy=NO_CACHE)
def finish_interrupted_work(ctx: RunContext) -> list[Path]:
    """A run that died after its load committed: write its files from the ledger now."""
    closed = close_interrupted_runs(ctx.engine, ctx.run_id)
    swept = sweep_stale_drafts(ctx.settings.outbox)
    if swept:
        get_run_logger().warning("removed %d unfinished draft file(s) of an interrupted run", len(swept))
    written = _write_from_ledger(ctx, unfinished_batches(ctx.engine))
    # The recovering run names the files it wrote for the dead one, so the audit trail has them.
    record_output_files(
        ctx.engine,
        ctx.run_id,
        [output_file_row("registry", p, note="recovered: written from the ledger") for p in written],
    )
    if closed or written:
        get_run_logger().warning("recovered %d interrupted run(s), wrote %d pending file(s)", len(closed), len(written))
    return written


@task(cache_policy=NO_CACHE)
def write_run_batches(ctx: RunContext) -> list[Path]:
    """Write this run's committed batches from the ledger (a run loaded in partitions)."""
    return _write_from_ledger(ctx, run_batches(ctx.engine, ctx.run_id))


def _write_from_ledger(ctx: RunContext, batches: pd.DataFrame) -> list[Path]:
    """Each batch's file, its rows and time read back from the ledger."""
    written = []
    for batch in batches.itertuples():
        rows, created = batch_rows(ctx.engine, batch.batch_id)
        path = ctx.settings.outbox / batch.file_name
        drafts = draft_batch_files(path, rows, created, text=ctx.settings.registry_text)
        written += _write_batch(ctx, batch.batch_id, batch.file_name, drafts)
    return written


@task(cache_policy=NO_CACHE)
def write_reports(ctx: RunContext, summary: dict, files: pd.DataFrame | None) -> list[Path]:
    """The run report, built from the ledger; `ending` is what the run record does not hold yet."""
    from flows.artifacts import publish_run_artifacts
    from load.ledger.database import redact_url

    ending = RunEnding(status=summary["status"], error=summary["error"], input_files=files)
    settings = {
        "ledger": redact_url(ctx.settings.database_url),
        "rows per registry file": ctx.settings.batch_max_rows,
        "tab-delimited copy": "yes" if ctx.settings.registry_text else "no",
        "office time zone": ctx.settings.timezone,
    }
    written = write_report_files(ctx.engine, ctx.run_id, ctx.settings.reports, ending=ending, settings=settings)
    try:  # the artifacts mirror the report for the UI; the report files are the record
        publish_run_artifacts(written.summary)
    except Exception as exc:
        get_run_logger().warning("could not publish the run's Prefect artifacts: %s", type(exc).__name__)
    return written.paths


def _judge_and_load(
    ctx: RunContext, files: pd.DataFrame, mappings_path: Path, summary: dict
) -> tuple[pd.DataFrame, list[Path]]:
    """The run in memory: (the input files with their rows, the registry files written)."""
    raw_claims = extract_claims(files)
    files = _with_row_counts(files, _rows_per_file(files, raw_claims))
    activity_map = extract_activity_map(mappings_path)
    files = _with_mappings(files, mappings_path, activity_map)
    judged = judge_claims(ctx, raw_claims, activity_map, read_ledger(ctx, raw_claims))
    summary.update(run_counts(judged.claims, input_rows=len(raw_claims)))
    del raw_claims  # its columns live on in `judged`, dropped on return
    if ctx.dry_run:
        return files, []
    plans = plan_batches(judged.registry_rows, stem=ctx.batch_stem, max_rows=ctx.settings.batch_max_rows)
    # The files are drafted while the load commits; each takes its name once its batch is committed.
    with drafted(plans, ctx.settings.outbox, ctx.started_at, text=ctx.settings.registry_text) as drafts:
        load_submission(ctx, judged, plans, files.reset_index(drop=True))
        return files, write_registry_files(ctx, plans, drafts)


def _judge_and_load_in_partitions(
    ctx: RunContext, files: pd.DataFrame, mappings_path: Path, folder: Path, summary: dict
) -> tuple[pd.DataFrame, list[Path]]:
    """The run streamed from disk, judged and loaded partition by partition (`flows.partitioned`)."""
    spilled = spill_exports(files, folder)
    files = _with_row_counts(files, spilled.file_rows)
    activity_map = extract_activity_map(mappings_path)
    files = _with_mappings(files, mappings_path, activity_map)
    partitioned = plan_run_partitions(ctx, spilled, folder)
    counts, batches = judge_and_load_partitions(ctx, partitioned, activity_map, files.reset_index(drop=True))
    summary.update(counts)
    if ctx.dry_run:
        return files, []
    get_run_logger().info("loaded the run in %d partition(s), %d batch(es)", len(partitioned.plan.partitions), batches)
    return files, write_run_batches(ctx)


def _with_mappings(files: pd.DataFrame, mappings_path: Path, activity_map: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([files, describe_inputs([mappings_path], "mappings").assign(rows=len(activity_map))])


# Threads suit the exports: reading CSV/XLSX releases the GIL for most of its work.
@flow(
    name="credit-reporting",
    log_prints=False,
    task_runner=ThreadPoolTaskRunner(max_workers=4),
    on_failure=[notify_failure],
    on_crashed=[notify_failure],
)
def credit_reporting(
    exports: list[str] | None = None,
    mappings: str | None = None,
    as_of: str | None = None,
    dry_run: bool = False,
    trigger: str = "manual",
    triggered_by: str | None = None,
) -> dict:
    """One reporting run. `exports`: export paths (default: every new file in the inbox);
    `mappings`: the activity map (default: the MAPPINGS setting); `as_of`: the run's date
    (default: the scheduled start in the office's time zone); `dry_run`: judge, load nothing."""
    quiet_expected_failures()
    settings = Settings()
    logger = get_run_logger()
    run_id = str(uuid.uuid4())
    ctx = RunContext(
        run_id=run_id,
        settings=settings,
        engine=open_ledger(settings.database_url),
        as_of=resolve_as_of(as_of, settings.timezone),
        trigger=trigger,
        triggered_by=triggered_by or getpass.getuser(),
        started_at=datetime.now(UTC),
        code_version=code_version(),
        dry_run=dry_run,
    )
    summary = ctx.empty_summary()
    files: pd.DataFrame | None = None
    locked = False
    try:
        if not dry_run:
            acquire_run_lock(ctx.engine, run_id, wait_seconds=settings.lock_wait_seconds)
            locked = True
            start_run(
                ctx.engine,
                run_id=run_id,
                trigger=trigger,
                triggered_by=ctx.triggered_by,
                as_of=ctx.as_of,
                cutoff=settings.cutoff,
                code_version=ctx.code_version,
                dry_run=dry_run,
            )
            finish_interrupted_work(ctx)
        mappings_path = Path(mappings) if mappings else settings.mappings
        if mappings_path is None:
            raise ExtractError("activity map", "no activity map given: pass --mappings or set CME_RELAY_MAPPINGS.")
        files = plan_inputs(ctx, exports)
        if streams_run(ctx, files):
            with spill_folder() as folder:
                files, submission = _judge_and_load_in_partitions(ctx, files, mappings_path, folder, summary)
        else:
            files, submission = _judge_and_load(ctx, files, mappings_path, summary)
        if not dry_run:
            summary["submission_files"] = [str(p) for p in submission]
            if not exports:
                taken = [Path(p) for p in files.loc[files["role"] == "export", "path"]]
                moved = archive_exports(taken, settings.archive, run_id)
                record_archived_paths(
                    ctx.engine, run_id, {str(a): str(b.resolve()) for a, b in zip(taken, moved, strict=True)}
                )
        summary["status"] = "succeeded"
        logger.info("run %s succeeded: %s", run_id, summary["counts"])
    except RunLockedError as exc:
        summary.update(status="failed", error=str(exc))
        logger.error("run %s not started: %s", run_id, exc)
    except EXPECTED_FAILURES as exc:
        summary.update(status="failed", error=str(exc))
        logger.error("run %s failed: %s", run_id, exc)
    except Exception as exc:
        summary.update(status="failed", error=f"unexpected {type(exc).__name__}; see the run log")
        logger.exception("run %s failed unexpectedly", run_id)
    finally:
        if not dry_run and locked:
            try:
                if summary["status"] != "succeeded":
                    summary["submission_files"] = []
                try:
                    summary["report_files"] = [str(p) for p in write_reports(ctx, summary, files)]
                except Exception:
                    # The load stands; the report can be written again with `cme-relay report RUN_ID`.
                    logger.exception("run %s: the run report could not be written", run_id)
                record_output_files(ctx.engine, run_id, ctx.output_file_rows(summary))
                finish_run(
                    ctx.engine,
                    run_id,
                    status=summary["status"],
                    counts=ctx.stored_counts(summary),
                    error=summary["error"],
                )
            finally:
                release_run_lock(ctx.engine, run_id)
    if summary["status"] != "succeeded":
        # A Failed state (not a raised exception): Prefect shows the run failed, without a traceback.
        return Failed(message=summary["error"], data=summary)  # type: ignore[return-value]
    return summary
