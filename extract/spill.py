"""Streaming exports too large to hold into learner-bucket files on disk (Arrow IPC).

A run of millions of claims is read block by block; each block's rows go to the file of their
learner's bucket (`transform.partitions`), so that a partition of buckets can later be read back
alone, in input order, exactly as `read_portal_export` would have given those rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from extract.portal_export import canonical_frame, read_portal_export
from extract.tables import StreamRefused, as_text_frame, stream_text_table
from schemas.portal_claim import CLAIM_FIELDS, CLAIM_HEADERS, REQUIRED_CLAIM_FIELDS
from transform.partitions import LEARNER_BUCKETS, learner_buckets

BLOCK_BYTES = 32 << 20  # ~200,000 rows of a typical export per block
TEXT = pa.large_string()
INPUT_SCHEMA = pa.schema(
    [
        *[(f, TEXT) for f in CLAIM_FIELDS],
        ("source_file", TEXT),
        ("source_line", pa.int64()),
        ("file_order", pa.int64()),
        ("input_row", pa.int64()),
    ]
)
WAITING_SCHEMA = pa.schema(
    [
        *[(f, TEXT) for f in CLAIM_FIELDS],
        ("source_file", TEXT),
        ("source_line", pa.int64()),
        ("waiting_row", pa.int64()),
    ]
)


class BucketFiles:
    """One Arrow IPC stream per (kind, bucket), opened when a bucket first gets rows."""

    def __init__(self, folder: Path, kind: str, schema: pa.Schema, buckets: int = LEARNER_BUCKETS) -> None:
        self.folder, self.kind, self.schema, self.buckets = folder, kind, schema, buckets
        self.rows = np.zeros(buckets, dtype=np.int64)
        self._writers: dict[int, pa.ipc.RecordBatchStreamWriter] = {}

    def path(self, bucket: int) -> Path:
        return self.folder / f"{self.kind}-{bucket:03d}.arrow"

    def write(self, frame: pd.DataFrame, buckets: np.ndarray) -> None:
        """Each row of `frame` to the file of its bucket, in the frame's order."""
        if frame.empty:
            return
        order = np.argsort(buckets, kind="stable")
        table = pa.Table.from_pandas(frame, schema=self.schema, preserve_index=False).take(pa.array(order))
        ordered = buckets[order]
        present = np.unique(ordered)
        starts = np.searchsorted(ordered, present, side="left")
        ends = np.searchsorted(ordered, present, side="right")
        for bucket, start, end in zip(present.tolist(), starts.tolist(), ends.tolist(), strict=True):
            if bucket not in self._writers:
                self._writers[bucket] = pa.ipc.new_stream(self.path(bucket), self.schema)
            self._writers[bucket].write_table(table.slice(start, end - start))
            self.rows[bucket] += end - start

    def close(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()

    def read(self, buckets: list[int], order_by: str) -> pd.DataFrame:
        """The rows of `buckets`, in the order of `order_by` (the order they were first read in)."""
        tables = [pa.ipc.open_stream(self.path(b)).read_all() for b in buckets if self.rows[b] > 0]
        table = pa.concat_tables(tables) if tables else self.schema.empty_table()
        table = table.take(pc.sort_indices(table, sort_keys=[(order_by, "ascending")]))
        return as_text_frame(table)


@dataclass
class SpilledExports:
    """The run's exports in bucket files, with what planning the partitions needs."""

    inputs: BucketFiles
    file_rows: list[int] = field(default_factory=list)  # rows kept per export, in file order
    claim_keys: list[pd.DataFrame] = field(default_factory=list)  # claim_id, bucket of every row

    @property
    def input_rows(self) -> int:
        return sum(self.file_rows)

    def claim_buckets(self) -> pd.DataFrame:
        if not self.claim_keys:
            return pd.DataFrame({"claim_id": pd.Series(dtype="string"), "bucket": pd.Series(dtype="int64")})
        return pd.concat(self.claim_keys, ignore_index=True)


def spill_portal_exports(paths: list[Path], folder: Path, block_bytes: int = BLOCK_BYTES) -> SpilledExports:
    """Every export, in file order, into `folder`'s bucket files; rows are numbered across the run
    (`input_row`) as in the whole-run frame. A file Arrow cannot stream exactly is read whole
    (pandas then reads it, or says what is wrong with it)."""
    whole: set[int] = set()
    while True:
        try:
            return _spill_all(paths, folder, block_bytes, whole)
        except _ReadWhole as again:
            whole.add(again.file_order)
            for stale in folder.glob("input-*.arrow"):
                stale.unlink()


class _ReadWhole(Exception):
    def __init__(self, file_order: int) -> None:
        self.file_order = file_order


def _spill_all(paths: list[Path], folder: Path, block_bytes: int, whole: set[int]) -> SpilledExports:
    spilled = SpilledExports(BucketFiles(folder, "input", INPUT_SCHEMA))
    try:
        for file_order, path in enumerate(paths):
            spilled.file_rows.append(0)
            blocks = None if file_order in whole else stream_text_table(path, block_bytes)
            if blocks is None:
                _spill(spilled, read_portal_export(path), file_order)
                continue
            try:
                for table, first_line in blocks:
                    frame = canonical_frame(path, table, first_line, CLAIM_HEADERS, REQUIRED_CLAIM_FIELDS, CLAIM_FIELDS)
                    _spill(spilled, frame, file_order)
            except StreamRefused:
                raise _ReadWhole(file_order) from None
    finally:
        spilled.inputs.close()
    return spilled


def _spill(spilled: SpilledExports, frame: pd.DataFrame, file_order: int) -> None:
    start = spilled.input_rows
    numbered = frame.assign(file_order=file_order, input_row=np.arange(start, start + len(frame), dtype=np.int64))
    buckets = learner_buckets(frame["learner_id"], spilled.inputs.buckets)
    spilled.inputs.write(numbered, buckets)
    claim_ids = frame["claim_id"].reset_index(drop=True)  # Arrow text: no Python string per id
    spilled.claim_keys.append(pd.DataFrame({"claim_id": claim_ids, "bucket": buckets.astype(np.int16)}))
    spilled.file_rows[-1] += len(frame)
