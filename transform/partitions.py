"""Cutting a run too large to judge at once into partitions that judge exactly as the whole run.

Every rule that looks past one row joins rows by claim id (repeats in the input, what the ledger
holds for a claim) or by learner (a learner's credits in an activity, one completion reported
once). Rows are put in buckets by a hash of their learner id; a claim id seen in two buckets
(its learner changed, in the input or since the ledger last saw it) joins them. A partition is a
set of buckets closed under these joins, so `judge_run` on it sees everything it would have seen
in the whole run. Sharing a bucket is always safe; only splitting a joined pair would not be.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

LEARNER_BUCKETS = 128
PARTITION_ROWS = 400_000  # rows judged at once: about 0.5 GB of frames while judging and loading


def learner_buckets(learner_ids: pd.Series, buckets: int = LEARNER_BUCKETS) -> np.ndarray:
    """The bucket of each row's learner: the same text gives the same bucket, whatever the dtype
    or the chunk it is read in (missing ids share one bucket)."""
    text = learner_ids.astype("string").fillna("\x00").to_numpy(dtype=object)
    return (pd.util.hash_array(text, categorize=True) % np.uint64(buckets)).astype(np.int64)


def joined_buckets(claim_ids: pd.Series, buckets: np.ndarray) -> np.ndarray:
    """Pairs (first bucket of a claim id, another bucket of it) for claim ids in several buckets,
    as an (n, 2) array; claims without an id join nothing (they are never matched by id)."""
    frame = pd.DataFrame({"claim_id": claim_ids.reset_index(drop=True), "bucket": buckets}).dropna()
    first = frame.groupby("claim_id", sort=False)["bucket"].transform("min")
    apart = frame["bucket"].to_numpy() != first.to_numpy()
    pairs = np.column_stack([first.to_numpy()[apart], frame["bucket"].to_numpy()[apart]])
    return np.unique(pairs, axis=0) if len(pairs) else pairs.reshape(0, 2).astype(np.int64)


@dataclass(frozen=True)
class PartitionPlan:
    partitions: list[list[int]]  # buckets of each partition, in bucket order
    rows: list[int]  # rows (input and waiting) of each partition


def plan_partitions(
    bucket_rows: np.ndarray, joins: Iterable[tuple[int, int]], target_rows: int = PARTITION_ROWS
) -> PartitionPlan:
    """Buckets joined by `joins` kept together (union-find over the few buckets), then packed in
    bucket order into partitions of about `target_rows` (a larger joined group stays whole)."""
    parent = list(range(len(bucket_rows)))

    def root(b: int) -> int:
        while parent[b] != b:
            parent[b] = parent[parent[b]]
            b = parent[b]
        return b

    for a, b in joins:
        ra, rb = root(int(a)), root(int(b))
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = {}
    for bucket in range(len(bucket_rows)):
        groups.setdefault(root(bucket), []).append(bucket)
    partitions: list[list[int]] = []
    rows: list[int] = []
    for members in groups.values():  # in order of each group's first bucket
        size = int(bucket_rows[members].sum())
        if size == 0:
            continue
        if partitions and rows[-1] + size <= target_rows:
            partitions[-1] = sorted(partitions[-1] + members)
            rows[-1] += size
        else:
            partitions.append(members)
            rows.append(size)
    return PartitionPlan(partitions, rows)
