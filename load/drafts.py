"""A run's registry files drafted on a thread beside its load.

The load is SQLite's or PostgreSQL's work, and the file writer is mostly Arrow kernels and zlib:
each leaves the GIL to the other much of the time, so on two cores both go at once. Measured at
1,000,000 claims: load then files 60.6 s, side by side 54.2 s (the load itself unchanged).
A draft is a hidden temporary file beside its batch's name; it takes that name only once its
batch is committed (`publish_drafts`), so the outbox never holds a file the ledger does not.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from load.ledger.write import BatchPlan
from load.registry_file import draft_batch_files
from load.xlsx_writer import DraftFile, draft_names


class BatchDrafts:
    """Each planned batch's files, drafted in plan order on one background thread."""

    def __init__(self, plans: list[BatchPlan], outbox: Path, created_at: datetime, *, text: bool) -> None:
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="registry-drafts")
        self._drafts: dict[str, Future[list[DraftFile]]] = {
            plan.batch_id: pool.submit(draft_batch_files, outbox / plan.file_name, plan.rows, created_at, text=text)
            for plan in plans
        }
        pool.shutdown(wait=False)  # the drafts already queued still run

    def take(self, batch_id: str) -> list[DraftFile]:
        """The batch's drafts, once written; raises what drafting them raised."""
        return self._drafts[batch_id].result()

    def discard(self) -> None:
        """Remove every draft not published: the load failed, or publishing stopped part way.
        (A published draft has left its temporary name, so removing that name does nothing.)"""
        for future in self._drafts.values():
            future.cancel()
        for future in self._drafts.values():
            if future.cancelled() or future.exception() is not None:
                continue  # never started, or failed (a failed draft removes its own files)
            for draft in future.result():
                draft.discard()
        self._drafts.clear()


@contextmanager
def drafted(plans: list[BatchPlan], outbox: Path, created_at: datetime, *, text: bool) -> Iterator[BatchDrafts]:
    """Start drafting `plans`; on leaving, whatever was not published is removed."""
    drafts = BatchDrafts(plans, outbox, created_at, text=text)
    try:
        yield drafts
    finally:
        drafts.discard()


def sweep_stale_drafts(outbox: Path) -> list[Path]:
    """Remove drafts a killed run left in the outbox. Call it holding the run lock: then no other
    run of this ledger is drafting."""
    if not outbox.is_dir():
        return []
    stale = [p for suffix in (".xlsx", ".txt") for p in outbox.glob(draft_names(f"*{suffix}"))]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale
