"""The `credit-reporting` flow's stages called directly, without Prefect, in the flow's order.

Mirrors flows/credit_reporting.py (same functions, same settings, same order) so each stage can
be timed on its own; the process part (`cme-relay run`) checks the counts come out the same.
"""

from __future__ import annotations

import getpass
import traceback
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd

from bench.measure import Stages


def _empty_claims() -> pd.DataFrame:
    from schemas.portal_claim import CLAIM_FIELDS

    frame = pd.DataFrame({c: pd.Series(dtype="string") for c in CLAIM_FIELDS})
    frame["source_file"] = pd.Series(dtype="string")
    frame["source_line"] = pd.Series(dtype="int64")
    frame["file_order"] = pd.Series(dtype="int64")
    return frame


def run_stages(
    *,
    export: str,
    mappings: str,
    database_url: str,
    outbox: str,
    reports: str,
    as_of: str,
    profile_dir: str | None = None,
) -> dict:
    """One run of the pipeline; returns per-stage seconds/RSS, the counts and the files written."""
    from flows import prefer_jemalloc

    prefer_jemalloc()  # as the flow's module does on import
    from extract import read_activity_map, read_portal_export
    from extract.inbox import describe_inputs
    from flows.context import RunContext, code_version
    from flows.settings import Settings
    from load.drafts import drafted
    from load.ledger.database import open_ledger
    from load.ledger.lock import acquire_run_lock, release_run_lock
    from load.ledger.runs import (
        batch_rows,
        close_interrupted_runs,
        finish_run,
        record_output_files,
        start_run,
        unfinished_batches,
    )
    from load.ledger.state import ingested_checksums, read_ledger_view
    from load.ledger.write import commit_load, mark_batch_written, plan_batches
    from load.registry_file import publish_drafts
    from load.reports import RunEnding, write_report_files
    from transform.judge import judge_run
    from transform.mapping import usable_activity_map
    from transform.summary import run_counts

    stages = Stages(Path(profile_dir) if profile_dir else None)
    settings = Settings(database_url=database_url, outbox=Path(outbox), reports=Path(reports))
    with stages.stage("setup (ledger, lock, run record)"):
        run_id = str(uuid.uuid4())
        ctx = RunContext(
            run_id=run_id,
            settings=settings,
            engine=open_ledger(settings.database_url),
            as_of=date.fromisoformat(as_of),
            trigger="manual",
            triggered_by=getpass.getuser(),
            started_at=datetime.now(UTC),
            code_version=code_version(),
            dry_run=False,
        )
        summary = ctx.empty_summary()
        acquire_run_lock(ctx.engine, run_id, wait_seconds=settings.lock_wait_seconds)
        start_run(ctx.engine, run_id=run_id, trigger=ctx.trigger, triggered_by=ctx.triggered_by, as_of=ctx.as_of,
                  cutoff=settings.cutoff, code_version=ctx.code_version, dry_run=False)  # fmt: skip
        close_interrupted_runs(ctx.engine, run_id)
        for batch in unfinished_batches(ctx.engine).itertuples():
            batch_rows(ctx.engine, batch.batch_id)  # the flow would write these; a fresh ledger has none

    with stages.stage("extract (checksum, read_portal_export)") as info:
        files = describe_inputs([Path(export)], "export")
        seen = ingested_checksums(ctx.engine, files["sha256"].tolist())
        files["note"] = files["sha256"].map(
            lambda sha: f"skipped: already ingested by run {seen[sha]}" if sha in seen else None
        )
        to_read = files[files["note"].isna()]
        frames = [read_portal_export(Path(p)).assign(file_order=i) for i, p in enumerate(to_read["path"])]
        raw_claims = pd.concat(frames, ignore_index=True) if frames else _empty_claims()
        ingested = files["note"].isna()
        per_file = raw_claims.groupby("file_order").size().reindex(range(int(ingested.sum())), fill_value=0)
        files = files.assign(rows=pd.Series(per_file.to_numpy(), index=files.index[ingested]))
        info["rows"] = len(raw_claims)
        skipped = bool(files["note"].notna().any())

    with stages.stage("activity map (read, usable)") as info:
        activity_map = usable_activity_map(read_activity_map(Path(mappings)))
        files = pd.concat([files, describe_inputs([Path(mappings)], "mappings").assign(rows=len(activity_map))])
        info["rows"] = len(activity_map)

    with stages.stage("read ledger view") as info:
        ledger = read_ledger_view(ctx.engine, run_keys=raw_claims[["claim_id", "learner_id"]])
        info["rows"] = len(ledger.pending) + len(ledger.sent)

    with stages.stage("judge (judge_run, run_counts)") as info:
        judged = judge_run(
            raw_claims, activity_map, ledger, cutoff=pd.Timestamp(settings.cutoff), as_of=pd.Timestamp(ctx.as_of)
        )
        summary.update(run_counts(judged.claims, input_rows=len(raw_claims)))
        info["rows"] = len(judged.claims)

    # As the flow: the registry files are drafted on a thread while the load commits.
    with drafted(plans := plan_batches(judged.registry_rows, stem=ctx.batch_stem, max_rows=settings.batch_max_rows),
                 settings.outbox, ctx.started_at, text=settings.registry_text) as drafts:  # fmt: skip
        with stages.stage("load (commit_load; registry files drafted beside it)") as info:
            commit_load(ctx.engine, run_id=run_id, now=ctx.started_at, judged=judged.claims, plans=plans,
                        input_files=files.reset_index(drop=True))  # fmt: skip
            info["rows"] = len(judged.claims)

        with stages.stage("registry files (rest of the drafts, publish_drafts)") as info:
            written = []
            for plan in plans:
                sha = publish_drafts(drafts.take(plan.batch_id))
                mark_batch_written(ctx.engine, plan.batch_id, sha)
                written.append(settings.outbox / plan.file_name)
            summary["submission_files"] = [str(p) for p in written]
            summary["status"] = "succeeded"
            info["rows"] = len(judged.registry_rows)
    judged_rows, registry_rows, batch_count = len(judged.claims), len(judged.registry_rows), len(plans)
    del judged, plans  # as the flow: the report reads the ledger, not the judged frames

    report_error = None
    with stages.stage("report (write_report_files), finish run") as info:
        try:
            ending = RunEnding(status="succeeded", input_files=files)  # as the flow: before finish_run
            written = write_report_files(ctx.engine, run_id, ctx.settings.reports, ending=ending)
            summary["report_files"] = [str(p) for p in written.paths]
        except Exception as exc:  # time what happens, say why it failed
            report_error = f"{type(exc).__name__}: {exc}"[:300]
            traceback.print_exc()
        record_output_files(ctx.engine, run_id, ctx.output_file_rows(summary))
        finish_run(ctx.engine, run_id, status=summary["status"], counts=ctx.stored_counts(summary), error=None)
        release_run_lock(ctx.engine, run_id)
        info["rows"] = judged_rows

    ctx.engine.dispose()
    return {
        "stages": stages.rows,
        "seconds": stages.total_seconds,
        "skipped_export": skipped,
        "input_rows": len(raw_claims),
        "registry_rows": registry_rows,
        "batches": batch_count,
        "counts": summary["counts"],
        "carried_over": summary["carried_over"],
        "report_error": report_error,
    }
