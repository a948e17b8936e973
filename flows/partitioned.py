"""Runs too large to hold in memory: exports streamed to disk, judged and loaded by partition.

The exports go to learner-bucket files (`extract.spill`), and so do the claims waiting in the
ledger; buckets that a claim id joins are kept together (`transform.partitions`). Each partition
is then judged as the whole run would judge its rows, and loaded, in one transaction for the run:
all partitions land or none. Memory is one partition's, not the run's.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from extract.spill import WAITING_SCHEMA, BucketFiles, SpilledExports, spill_portal_exports
from flows.context import RunContext
from flows.retries import retriable
from load.ledger.staged import StagedRegistryRows
from load.ledger.state import count_waiting, ledger_learners, ledger_view, waiting_claims
from load.ledger.write import refused_as_already_sent, write_claims, write_input_files, write_outcomes
from transform.arrow_ops import release_unused_memory
from transform.judge import judge_run
from transform.partitions import PartitionPlan, joined_buckets, learner_buckets, plan_partitions
from transform.summary import add_counts, run_counts


def streams_run(ctx: RunContext, files: pd.DataFrame) -> bool:
    """Whether the run is too large to judge at once: the exports to ingest, in all, or the
    claims waiting in the ledger (a run with no new export judges them all again)."""
    to_read = files.loc[files["note"].isna(), "path"]
    limit = ctx.settings.stream_above_mb * 1_000_000
    if limit == 0 or sum(Path(p).stat().st_size for p in to_read) > limit:  # 0: every run streams
        return True
    return count_waiting(ctx.engine) > ctx.settings.partition_rows


@contextmanager
def spill_folder() -> Iterator[Path]:
    # Under the system's temporary folder (TMPDIR): the bucket files are the size of the exports.
    with tempfile.TemporaryDirectory(prefix="cme-relay-spill-") as folder:
        yield Path(folder)


@task(cache_policy=NO_CACHE)
def spill_exports(files: pd.DataFrame, folder: Path) -> SpilledExports:
    paths = [Path(p) for p in files.loc[files["note"].isna(), "path"]]
    spilled = spill_portal_exports(paths, folder)
    get_run_logger().info(
        "streamed %d export(s), %d rows, into %d learner buckets",
        len(paths),
        spilled.input_rows,
        int((spilled.inputs.rows > 0).sum()),
    )
    return spilled


@dataclass(frozen=True)
class Partitioned:
    spilled: SpilledExports
    waiting: BucketFiles
    plan: PartitionPlan


@task(cache_policy=NO_CACHE, retries=3, retry_delay_seconds=[1, 4, 16], retry_condition_fn=retriable)
def plan_run_partitions(ctx: RunContext, spilled: SpilledExports, folder: Path) -> Partitioned:
    """The waiting claims into buckets too, then the partitions: buckets that a claim id joins
    (in the input, or between the input and the learner the ledger holds for it) stay together."""
    waiting = BucketFiles(folder, "waiting", WAITING_SCHEMA, spilled.inputs.buckets)
    claim_buckets = spilled.claim_buckets()
    joins = [joined_buckets(claim_buckets["claim_id"], claim_buckets["bucket"].to_numpy())]
    with ctx.engine.connect() as conn:
        seen = 0
        for chunk in waiting_claims(conn):
            waiting.write(
                chunk.assign(waiting_row=np.arange(seen, seen + len(chunk))),
                learner_buckets(chunk["learner_id"], waiting.buckets),
            )
            seen += len(chunk)
        waiting.close()
        keys = claim_buckets.rename(columns={"bucket": "key"})
        for held in ledger_learners(conn, keys):
            joins.append(_apart(held["key"].to_numpy(), learner_buckets(held["learner_id"], waiting.buckets)))
        conn.commit()  # only temporary tables were written (and dropped)
    del claim_buckets, keys
    spilled.claim_keys.clear()
    plan = plan_partitions(
        spilled.inputs.rows + waiting.rows, np.concatenate(joins).tolist(), ctx.settings.partition_rows
    )
    get_run_logger().info(
        "%d partition(s) of at most %d rows (input and waiting claims)", len(plan.partitions), max(plan.rows, default=0)
    )
    return Partitioned(spilled, waiting, plan)


def _apart(input_buckets: np.ndarray, ledger_buckets: np.ndarray) -> np.ndarray:
    differ = input_buckets != ledger_buckets
    return np.column_stack([input_buckets[differ], ledger_buckets[differ]]).astype(np.int64)


@task(cache_policy=NO_CACHE, retries=3, retry_delay_seconds=[1, 4, 16], retry_condition_fn=retriable)
def judge_and_load_partitions(
    ctx: RunContext, run: Partitioned, activity_map: pd.DataFrame, files: pd.DataFrame
) -> tuple[dict, int]:
    """(counts of the whole run, registry batches written to the ledger), in one transaction."""
    logger = get_run_logger()
    total: dict | None = None
    n_input = run.spilled.input_rows
    with refused_as_already_sent(), ctx.engine.begin() as conn:
        staged = None
        if not ctx.dry_run:
            write_input_files(conn, ctx.run_id, files)
            staged = StagedRegistryRows(conn)
        carried = 0
        for number, buckets in enumerate(run.plan.partitions, start=1):
            raw = run.spilled.inputs.read(buckets, order_by="input_row")
            pending = run.waiting.read(buckets, order_by="waiting_row").drop(columns="waiting_row")
            view = ledger_view(conn, raw[["claim_id", "learner_id"]], pending=pending)
            input_rows = raw["input_row"].to_numpy()
            judged = judge_run(
                raw.drop(columns="input_row"),
                activity_map,
                view,
                cutoff=pd.Timestamp(ctx.settings.cutoff),
                as_of=pd.Timestamp(ctx.as_of),
                input_rows=input_rows,
            )
            del raw, pending, view
            counts = run_counts(judged.claims, input_rows=len(input_rows))
            total = add_counts(total, counts)
            if staged is not None:
                write_claims(conn, ctx.run_id, ctx.started_at, judged.claims)
                write_outcomes(conn, ctx.run_id, judged.claims, carried_from=n_input + carried)
                staged.add(judged.registry_rows)
            carried += int(judged.claims["from_ledger"].astype(bool).sum())
            del judged
            release_unused_memory()
            logger.info("partition %d of %d judged: %d input rows", number, len(run.plan.partitions), len(input_rows))
        batches = 0
        if staged is not None:
            batches = staged.into_batches(
                run_id=ctx.run_id, now=ctx.started_at, stem=ctx.batch_stem, max_rows=ctx.settings.batch_max_rows
            )
    return total or _no_counts(), batches


def _no_counts() -> dict:
    return run_counts(pd.DataFrame({"from_ledger": [], "outcome": [], "reason": []}), input_rows=0)
