"""The Arrow-backed helpers give exactly what the pandas operations they replace give."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from transform.arrow_ops import ascending, codes, lookup, per_distinct, positions, sorted_order, text_where
from transform.mapping import MAP_VALUE_COLUMNS, accme_max_credits, map_activities
from transform.parse import parse_birth_mmdd
from transform.registry_rows import sent_fingerprint

RNG = np.random.default_rng(7)


def text(values) -> pd.Series:  # type: ignore[no-untyped-def]
    return pd.Series(list(values), dtype="string")


def random_frame(n: int) -> pd.DataFrame:
    ids = [f"C{i:03d}" if i % 9 else None for i in RNG.integers(0, 60, n)]
    days = pd.to_datetime(RNG.integers(0, 5, n), unit="D", origin="2026-01-01").to_series(index=range(n))
    return pd.DataFrame(
        {
            "rank": RNG.integers(0, 2, n),
            "day": days.where(RNG.random(n) > 0.2).to_numpy(),
            "activity": text(RNG.choice(["b", "a", "é", "A", None], n)),
            "claim_id": text(ids),
            "credits": np.where(RNG.random(n) > 0.1, RNG.integers(1, 4, n) / 4, np.nan),
        }
    )


@pytest.mark.parametrize(
    "keys",
    [["rank", "day", "claim_id"], ["activity", "claim_id"], ["credits", "activity"], ["claim_id"], ["day"]],
)
def test_sorted_order_is_pandas_stable_sort_with_missing_last(keys):
    frame = random_frame(400)
    expected = frame.sort_values(keys, kind="stable", na_position="last").index.to_numpy()
    assert (sorted_order(frame, keys) == expected).all()


def test_sorted_order_with_a_last_key_already_in_order():
    frame = random_frame(300).assign(claim_id=text(f"C{i:04d}" for i in range(300)))
    keys = ["activity", "rank", "claim_id"]
    expected = frame.sort_values(keys, kind="stable").index.to_numpy()
    assert ascending(frame["claim_id"])
    assert (sorted_order(frame, keys) == expected).all()


def test_ascending():
    assert ascending(text(["a", "b", "b"])) and not ascending(text(["a", "b", "b"]), strictly=True)
    assert ascending(text(["a", "b", "c"]), strictly=True)
    assert not ascending(text(["b", "a"]))
    assert not ascending(text(["a", None, "c"]))  # a missing value is never "in order"
    assert ascending(pd.Series([1, 2, 2])) and not ascending(pd.Series([2, 1]))


def test_lookup_is_map_and_positions_find_first_keys():
    table = pd.Series([1, 2, 3], index=pd.Index(["a", "b", "c"], dtype="string"))
    values = text(["c", None, "x", "a"])
    assert lookup(values, table).tolist()[0] == 3.0
    pd.testing.assert_series_equal(
        lookup(values, table).astype("float64"), values.map(table).astype("float64"), check_names=False
    )
    strings = pd.Series(["p", "q"], index=pd.Index(["a", "b"], dtype="string"), dtype="string")
    assert lookup(values, strings).tolist() == [pd.NA, pd.NA, pd.NA, "p"]
    keys = text(["a", None, "a"])
    assert positions(text(["a", None, "z"]), keys).tolist() == [0, -1, -1]
    assert positions(text(["a", None, "z"]), keys, missing_matches=True).tolist() == [0, 1, -1]


def test_text_where_is_series_where():
    values = text(["a", None, "c", "d"])
    keep = pd.Series([True, True, False, False])
    other = text(["w", "x", None, "z"])
    pd.testing.assert_series_equal(text_where(values, keep), values.where(keep))
    pd.testing.assert_series_equal(text_where(values, keep, other), values.where(keep, other))
    pd.testing.assert_series_equal(text_where(values, keep, "k"), values.where(keep, "k"))


def test_codes_number_equal_values_alike_and_missing_as_minus_one():
    found = codes(text(["b", None, "a", "b"]))
    assert found[0] == found[3] != found[2] and found[1] == -1
    days = pd.Series(pd.to_datetime(["2026-01-02", None, "2026-01-02"]))
    assert codes(days).tolist() == [0, -1, 0]


def test_per_distinct_spreads_text_results_and_keeps_missing():
    births = text(["04/01/1996", None, "02/30", "4/1/1980", "04/01/1996"])
    expected = parse_birth_mmdd(births)
    pd.testing.assert_series_equal(per_distinct(births, parse_birth_mmdd), expected)
    pd.testing.assert_series_equal(
        per_distinct(text([None, None]), parse_birth_mmdd), parse_birth_mmdd(text([None, None]))
    )


def test_fingerprint_is_the_hash_of_the_filled_values():
    fields = ["accme_activity_id", "completion_date", "first_name", "last_name", "birth_mmdd", "license_state"]
    fields += ["license_or_npi", "credits", "board", "board_id", "board_credits", "moc_credit_type", "moc_type_credits"]
    rows = pd.DataFrame({f: text(RNG.choice(["x", "y", None], 50)) for f in fields}).assign(action="Add")
    rows["board"] = text([None] * 50)  # a column missing throughout
    rows.loc[3, "first_name"] = "\x00"  # the fill value itself, as text
    filled = rows[fields].astype("string").fillna("\x00")
    expected = pd.util.hash_pandas_object(filled, index=False).astype("uint64").astype("string")
    pd.testing.assert_series_equal(sent_fingerprint(rows), expected, check_names=False)


def test_map_activities_is_the_left_merge_it_replaces():
    claims = pd.DataFrame({"claim_id": text(["1", "2", "3", "4"]), "portal_activity_id": text(["A", "B", None, "A"])})
    activity_map = pd.DataFrame(
        {
            "portal_activity_id": text(["A", "B", "C", None]),  # a missing id meets a missing id, as in merge
            "accme_activity_id": text(["100", None, "100", "300"]),
            "max_credits_value": [1.0, 2.0, 3.0, 4.0],
            "start": pd.to_datetime(["2026-01-01", None, "2026-02-01", None]),
            "end": pd.to_datetime(["2026-12-31", None, None, None]),
        }
    )
    expected = claims.merge(
        activity_map[["portal_activity_id", *MAP_VALUE_COLUMNS]].assign(mapped=True),
        on="portal_activity_id",
        how="left",
    )
    expected["mapped"] = expected["mapped"].fillna(False).astype(bool)
    expected["accme_max_credits"] = expected["accme_activity_id"].map(accme_max_credits(activity_map)).astype("float64")
    pd.testing.assert_frame_equal(map_activities(claims, activity_map), expected)
    with pytest.raises(pd.errors.MergeError):
        map_activities(claims, pd.concat([activity_map, activity_map]))


def test_per_distinct_with_only_missing_dates_keeps_the_date_type():
    """A run whose every completion date is missing (or with no claims) formats nothing, and fails not."""
    for values in (pd.Series([pd.NaT, pd.NaT], dtype="datetime64[ns]"), pd.Series([], dtype="datetime64[ns]")):
        out = per_distinct(values, lambda d: d.dt.strftime("%m/%d/%Y"))
        assert len(out) == len(values) and out.isna().all()
