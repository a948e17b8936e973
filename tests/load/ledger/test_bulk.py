"""Bulk writes: COPY on PostgreSQL, executemany on SQLite; awkward values survive both."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest
import sqlalchemy as sa

from load.ledger import bulk

probe_metadata = sa.MetaData()
probe = sa.Table(
    "copy_probe",
    probe_metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("txt", sa.Text),
    sa.Column("flag", sa.Boolean),
    sa.Column("at", sa.DateTime(timezone=True)),
    sa.Column("amount", sa.Float),
)

AWKWARD = [
    "plain",
    "comma, inside",
    'a "quoted" word',
    "two\nlines",
    "carriage\r\nreturn",
    "",
    None,
    "\\N",
    "back\\slash",
    "tab\there",
    "ünïcödé ™",
    "NULL",
    '"',
    ",",
]


def _frame() -> pd.DataFrame:
    n = len(AWKWARD)
    times = pd.Series(pd.date_range("2026-03-08 06:30", periods=n, freq="37min", tz="America/Chicago"))
    return pd.DataFrame(
        {
            "id": range(1, n + 1),
            "txt": pd.Series(AWKWARD, dtype="string"),
            "flag": pd.Series([True, False, None] * (n // 3) + [True] * (n % 3), dtype="boolean"),
            "at": times.where(pd.Series(range(n)) % 5 != 4),  # some NaT
            "amount": pd.Series([0.25 * i if i % 4 else None for i in range(n)], dtype="float64"),
        }
    )


def _spy_on(monkeypatch, writer: str) -> list[str]:
    """What `bulk.<writer>(conn, what, frame)` was called with, as `what` (a table, a statement)."""
    seen: list[str] = []
    real = getattr(bulk, writer)

    def spy(conn, what, frame):
        seen.append(what)
        real(conn, what, frame)

    monkeypatch.setattr(bulk, writer, spy)
    return seen


@pytest.fixture
def copies(engine, monkeypatch):
    probe_metadata.create_all(engine)
    return _spy_on(monkeypatch, "_copy")


def _read(engine) -> pd.DataFrame:
    with engine.connect() as conn:
        frame = bulk.read_frame(conn, sa.select(probe).order_by(probe.c.id))
    # SQLite hands back naive UTC, PostgreSQL the session's zone (not UTC on the test server).
    frame["at"] = [
        None if t is None else (t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)) for t in frame["at"]
    ]
    return frame


def _expected(frame: pd.DataFrame) -> list[dict]:
    rows = []
    for r in frame.to_dict("records"):
        rows.append(
            {
                "id": r["id"],
                "txt": None if pd.isna(r["txt"]) else r["txt"],
                "flag": None if pd.isna(r["flag"]) else bool(r["flag"]),
                "at": None if pd.isna(r["at"]) else r["at"].to_pydatetime().astimezone(UTC),
                "amount": None if pd.isna(r["amount"]) else r["amount"],
            }
        )
    return rows


def _records(frame: pd.DataFrame) -> list[dict]:
    out = []
    for r in frame.to_dict("records"):
        out.append(
            {
                **r,
                "txt": None if pd.isna(r["txt"]) else r["txt"],
                "flag": None if r["flag"] is None else bool(r["flag"]),
                "at": None if pd.isna(r["at"]) else pd.Timestamp(r["at"]).to_pydatetime(),
                "amount": None if r["amount"] is None or pd.isna(r["amount"]) else r["amount"],
            }
        )
    return out


def test_insert_keeps_nulls_booleans_times_and_awkward_text(engine, copies):
    frame = _frame()
    with engine.begin() as conn:
        bulk.insert_frame(conn, probe, frame)
    assert _records(_read(engine)) == _expected(frame)
    # Empty string and NULL stay apart; a literal \N or NULL is text.
    txt = [r["txt"] for r in _records(_read(engine))]
    assert txt[AWKWARD.index("")] == "" and txt[AWKWARD.index(None)] is None
    assert txt[AWKWARD.index("\\N")] == "\\N" and txt[AWKWARD.index("NULL")] == "NULL"
    assert copies == (["copy_probe"] if engine.dialect.name == "postgresql" else [])


def test_upsert_updates_on_the_key_and_inserts_the_rest(engine, copies):
    frame = _frame()
    with engine.begin() as conn:
        bulk.insert_frame(conn, probe, frame.iloc[:5])
    changed = frame.assign(txt=frame["txt"].fillna("was null") + "|v2")
    with engine.begin() as conn:
        bulk.upsert_frame(conn, probe, changed, "id", {"txt": "excluded.txt", "flag": "copy_probe.flag"})
    got = _read(engine)
    assert len(got) == len(frame)
    assert [r["txt"] for r in _records(got)] == changed["txt"].tolist()
    # flag kept from the stored row for the first five (the SQL named the stored value), new ones inserted.
    assert _records(got)[:5] == [{**e, "txt": t} for e, t in zip(_expected(frame)[:5], changed["txt"][:5], strict=True)]
    if engine.dialect.name == "postgresql":
        assert copies == ["copy_probe", "staging_copy_probe"]


def test_copy_turns_a_unique_violation_into_integrity_error(engine):
    probe_metadata.create_all(engine)
    frame = _frame().iloc[:2]
    with engine.begin() as conn:
        bulk.insert_frame(conn, probe, frame)
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        bulk.insert_frame(conn, probe, frame)
    assert len(_read(engine)) == 2


def test_a_naive_time_is_stored_as_utc(engine):
    probe_metadata.create_all(engine)
    naive = pd.DataFrame({"id": [1], "at": pd.Series([datetime(2026, 11, 26, 4, 5, 6)])})
    with engine.begin() as conn:
        bulk.insert_frame(conn, probe, naive)
    assert _read(engine)["at"].tolist() == [datetime(2026, 11, 26, 4, 5, 6, tzinfo=UTC)]


@pytest.mark.parametrize(
    "constants",
    [
        {"txt": "it's the run's id", "flag": True, "at": datetime(2026, 3, 8, 1, 30, tzinfo=UTC), "amount": 2.5},
        {
            "txt": None,
            "flag": False,
            "at": pd.Timestamp("2026-11-01 01:30-07:00").tz_convert("America/Los_Angeles"),
            "amount": 7,
        },
    ],
)
def test_constants_are_stored_on_every_row_like_bound_values(engine, constants):
    """A run-wide value given once (SQLite: a literal in the statement) reads back as if bound per row."""
    probe_metadata.create_all(engine)
    ids = pd.DataFrame({"id": [1, 2, 3]})
    with engine.begin() as conn:
        bulk.insert_frame(conn, probe, ids, constants)
        bulk.upsert_frame(conn, probe, pd.DataFrame({"id": [3, 4]}), "id", {"amount": "excluded.amount"}, constants)
    got = _records(_read(engine))
    expected_at = pd.Timestamp(constants["at"]).tz_convert("UTC").to_pydatetime()
    assert [r["id"] for r in got] == [1, 2, 3, 4]
    for r in got:
        assert (r["txt"], r["flag"], r["at"], r["amount"]) == (
            constants["txt"],
            constants["flag"],
            expected_at,
            constants["amount"],
        )


def test_the_collector_is_back_on_after_a_bulk_write_even_one_that_fails(engine):
    import gc

    probe_metadata.create_all(engine)
    frame = _frame().iloc[:2]
    with engine.begin() as conn:
        bulk.insert_frame(conn, probe, frame)
    assert gc.isenabled()
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        bulk.insert_frame(conn, probe, frame)
    assert gc.isenabled()


@pytest.fixture
def statements(monkeypatch):
    return _spy_on(monkeypatch, "_sqlite_executemany")


@pytest.mark.parametrize(
    ("txt", "flag", "at", "amount"),
    [
        ("it's the one export.csv", True, pd.Timestamp("2026-03-08 01:30", tz="America/Chicago"), 2.5),
        ("", False, pd.NaT, None),
        (None, None, pd.Timestamp("2026-11-01 01:30"), 7.0),
    ],
)
def test_a_column_with_one_value_reads_back_as_if_bound_on_every_row(engine, statements, txt, flag, at, amount):
    """SQLite writes a column holding one value throughout as a literal, once; it must read back
    exactly as the bound values would (quotes, empty text apart from NULL, times as UTC, flags)."""
    probe_metadata.create_all(engine)
    n = 25
    frame = pd.DataFrame(
        {
            "id": range(1, n + 1),
            "txt": pd.Series([txt] * n, dtype="string"),
            "flag": pd.Series([flag] * n, dtype="boolean"),
            "at": pd.Series([at] * n, dtype="datetime64[ns, UTC]" if at is not pd.NaT and at.tz else None),
            "amount": pd.Series([amount] * n, dtype="float64"),
        }
    )
    with engine.begin() as conn:
        bulk.insert_frame(conn, probe, frame.iloc[:20])
        bulk.upsert_frame(conn, probe, frame.iloc[15:], "id", {"txt": "excluded.txt"})
    assert _records(_read(engine)) == _expected(frame)
    if engine.dialect.name == "sqlite":
        assert [s.count("?") for s in statements] == [1, 1]  # only the id was bound per row


def test_columns_that_differ_in_one_row_or_hold_what_sql_cannot_spell_are_bound(engine, statements):
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite only: COPY has no literals, and PostgreSQL text cannot hold a NUL")
    probe_metadata.create_all(engine)
    frame = pd.DataFrame(
        {
            "id": [1, 2, 3],
            "txt": pd.Series(["nul\x00inside"] * 3, dtype="string"),  # no NUL in a statement's text
            "flag": pd.Series([True, True, None], dtype="boolean"),  # a NULL at the end only
            "amount": [float("inf")] * 3,  # no literal for infinity
        }
    )
    with engine.begin() as conn:
        bulk.insert_frame(conn, probe, frame)
    got = _records(_read(engine))
    assert [r["txt"] for r in got] == ["nul\x00inside"] * 3
    assert [r["flag"] for r in got] == [True, True, None]
    assert [r["amount"] for r in got] == [float("inf")] * 3
    assert statements[0].count("?") == 4
