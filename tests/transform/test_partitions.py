"""Learner buckets and partitions: a partition must hold every bucket a claim id joins to its own."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transform.partitions import LEARNER_BUCKETS, PartitionPlan, joined_buckets, learner_buckets, plan_partitions

IDS = [f"L{n:05d}" for n in range(200)] + ["0042", "42", " L1", "Ünïcode-Ø"]


def _arrow_text(values: list) -> pd.Series:
    """Text as the spill reads it back: Arrow `large_string` behind pandas' pyarrow string dtype."""
    return pd.Series(pd.arrays.ArrowStringArray(pa.array(values, pa.large_string())))


def _by_id(ids: list, buckets: np.ndarray) -> dict:
    seen: dict = {}
    for learner, bucket in zip(ids, buckets.tolist(), strict=True):
        assert seen.setdefault(learner, bucket) == bucket, f"{learner!r} in two buckets"
    return seen


# --- learner_buckets ---------------------------------------------------------------------------


def test_same_id_same_bucket_whatever_the_dtype():
    ids = IDS + IDS[:50]  # repeats within one call too
    expected = learner_buckets(pd.Series(ids, dtype=object))
    for series in (
        pd.Series(ids, dtype="string[pyarrow]"),
        pd.Series(ids, dtype="string[python]"),
        _arrow_text(ids),
        pd.Series(ids, dtype=object, index=range(1000, 1000 + len(ids))),  # the index plays no part
    ):
        np.testing.assert_array_equal(learner_buckets(series), expected)
    _by_id(ids, expected)


def test_same_id_same_bucket_whatever_the_chunk_and_order():
    rng = np.random.default_rng(7)
    whole = _by_id(IDS, learner_buckets(pd.Series(IDS, dtype=object)))
    shuffled = [IDS[i] for i in rng.permutation(len(IDS))]
    # Chunks as blocks of a stream: of every size, one holding a single id, in another order.
    for chunk in (shuffled[:1], shuffled[1:3], shuffled[3:90], shuffled[90:], list(reversed(IDS))):
        chunk_buckets = learner_buckets(_arrow_text(chunk))
        assert {learner: whole[learner] for learner in chunk} == _by_id(chunk, chunk_buckets)


def test_missing_ids_share_one_bucket_and_values_are_in_range():
    missing = pd.Series([None, np.nan, pd.NA, "L00001", None], dtype=object)
    buckets = learner_buckets(missing)
    assert buckets.dtype == np.int64
    assert buckets[0] == buckets[1] == buckets[2] == buckets[4]
    assert learner_buckets(pd.Series([pd.NA], dtype="string[pyarrow]"))[0] == buckets[0]
    assert learner_buckets(_arrow_text([None]))[0] == buckets[0]

    many = learner_buckets(pd.Series(IDS, dtype=object))
    assert many.min() >= 0 and many.max() < LEARNER_BUCKETS
    assert len(set(many.tolist())) > LEARNER_BUCKETS // 2  # ids spread over the buckets
    few = learner_buckets(pd.Series(IDS, dtype=object), buckets=7)
    assert set(few.tolist()) == set(range(7))


def test_no_ids_no_buckets():
    assert learner_buckets(pd.Series([], dtype="string[pyarrow]")).shape == (0,)


# --- joined_buckets ----------------------------------------------------------------------------


def _pairs(claim_ids: list, buckets: list, index: list | None = None) -> set[tuple[int, int]]:
    series = pd.Series(claim_ids, dtype="string[pyarrow]", index=index)
    joined = joined_buckets(series, np.array(buckets, dtype=np.int64))
    assert joined.ndim == 2 and joined.shape[1] == 2
    return {(int(a), int(b)) for a, b in joined.tolist()}


def test_a_claim_in_two_or_three_buckets_joins_them():
    assert _pairs(["A", "B", "A"], [5, 9, 2]) == {(2, 5)}
    three = _pairs(["C", "C", "C", "C"], [4, 1, 7, 4])
    assert three == {(1, 4), (1, 7)}  # every bucket of the claim joined to one of them: all together


def test_claims_in_one_bucket_and_missing_ids_join_nothing():
    assert _pairs(["A", "A", "B", "B"], [3, 3, 6, 6]) == set()
    assert _pairs([None, None, "A"], [1, 2, 3]) == set()  # missing ids are never matched by id
    assert _pairs([], []) == set()


def test_pairs_follow_positions_not_the_index():
    # Rows of a partition keep their frame's index; the buckets are positional.
    assert _pairs(["A", "B", "A"], [5, 9, 2], index=[2, 0, 1]) == {(2, 5)}


def test_joined_pairs_are_distinct():
    joined = joined_buckets(pd.Series(["A"] * 6, dtype=object), np.array([1, 2, 1, 2, 2, 1]))
    assert joined.tolist() == [[1, 2]]


# --- plan_partitions ---------------------------------------------------------------------------


def _components(n: int, joins: list[tuple[int, int]]) -> list[set[int]]:
    """Connected buckets, the slow obvious way."""
    groups = [{b} for b in range(n)]
    for a, b in joins:
        ga = next(g for g in groups if a in g)
        gb = next(g for g in groups if b in g)
        if ga is not gb:
            groups.remove(gb)
            ga |= gb
    return groups


def _check_plan(plan: PartitionPlan, bucket_rows: list[int], joins: list[tuple[int, int]], target: int) -> None:
    placed = [b for part in plan.partitions for b in part]
    assert len(placed) == len(set(placed)), "a bucket in two partitions"
    assert {b for b, rows in enumerate(bucket_rows) if rows > 0} <= set(placed), "a non-empty bucket left out"
    assert len(plan.rows) == len(plan.partitions)
    where = {b: i for i, part in enumerate(plan.partitions) for b in part}
    for part, rows in zip(plan.partitions, plan.rows, strict=True):
        assert part == sorted(part)
        assert rows == sum(bucket_rows[b] for b in part) > 0
    components = _components(len(bucket_rows), joins)
    for group in components:
        if sum(bucket_rows[b] for b in group):
            assert len({where[b] for b in group}) == 1, f"joined buckets {sorted(group)} split"
    for part, rows in zip(plan.partitions, plan.rows, strict=True):
        if rows > target:  # only a joined group larger than the target, alone
            alone = [g for g in components if g & set(part) and sum(bucket_rows[b] for b in g)]
            assert len(alone) == 1 and sum(bucket_rows[b] for b in alone[0]) > target
    for first, second in zip(plan.rows, plan.rows[1:], strict=False):
        assert first + second > target, "two partitions that fit together were left apart"


def test_joined_buckets_land_together_even_transitively():
    bucket_rows = np.array([4, 4, 4, 4, 4, 4])
    plan = plan_partitions(bucket_rows, [(0, 5), (5, 2)], target_rows=8)  # 0-5, 5-2: 0, 2, 5 together
    assert [0, 2, 5] in plan.partitions
    _check_plan(plan, bucket_rows.tolist(), [(0, 5), (5, 2)], 8)


def test_a_joined_group_larger_than_the_target_stays_whole():
    bucket_rows = np.array([3, 3, 3, 3])
    plan = plan_partitions(bucket_rows, [(1, 2), (2, 3)], target_rows=4)
    assert plan.partitions == [[0], [1, 2, 3]]
    assert plan.rows == [3, 9]


def test_packing_fills_partitions_up_to_the_target():
    plan = plan_partitions(np.array([2, 3, 5, 1, 1, 9]), [], target_rows=6)
    assert plan.partitions == [[0, 1], [2, 3], [4], [5]]
    assert plan.rows == [5, 6, 1, 9]


def test_empty_buckets_make_no_partition():
    assert plan_partitions(np.zeros(8, dtype=np.int64), [(1, 2)], target_rows=5) == PartitionPlan([], [])
    plan = plan_partitions(np.array([0, 2, 0, 0, 3, 0]), [(2, 3)], target_rows=100)
    assert plan.partitions == [[1, 4]] and plan.rows == [5]


@pytest.mark.parametrize("joins", [[], [(3, 1)], [(1, 3), (3, 1), (1, 1)]])
def test_join_order_and_repeats_do_not_matter(joins):
    bucket_rows = np.array([1, 5, 1, 5, 1])
    plan = plan_partitions(bucket_rows, joins, target_rows=6)
    _check_plan(plan, bucket_rows.tolist(), joins, 6)


@settings(max_examples=200, deadline=None)
@given(
    bucket_rows=st.lists(st.integers(0, 12), min_size=1, max_size=24),
    raw_joins=st.lists(st.tuples(st.integers(0, 23), st.integers(0, 23)), max_size=12),
    target=st.integers(1, 40),
)
def test_any_plan_keeps_joins_whole_and_respects_the_target(bucket_rows, raw_joins, target):
    n = len(bucket_rows)
    joins = [(a % n, b % n) for a, b in raw_joins]
    plan = plan_partitions(np.array(bucket_rows, dtype=np.int64), joins, target_rows=target)
    _check_plan(plan, bucket_rows, joins, target)
    # As the flow passes them: numpy pairs made lists.
    as_numpy = np.array(joins, dtype=np.int64).reshape(-1, 2).tolist()
    assert plan_partitions(np.array(bucket_rows, dtype=np.int64), as_numpy, target_rows=target) == plan
