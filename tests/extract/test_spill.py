"""Exports spilled block by block into learner-bucket files read back exactly as read whole.

Every case compares with `read_portal_export` of the same files: the spill must give the rows,
values, line numbers and errors the whole-file read gives, only numbered across the run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from extract import ExtractError, MissingColumnsError, UnreadableFileError, read_portal_export
from extract.spill import SpilledExports, spill_portal_exports
from extract.tables import StreamRefused, stream_text_table
from tests.factories import claim, write_export
from transform.partitions import LEARNER_BUCKETS, learner_buckets

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"
CSV_SAMPLES = [
    "portal_export_biweekly.csv",
    "portal_export_cp1252.csv",
    "portal_export_utf8_bom.csv",
    "portal_export_messy_headers.csv",
    "portal_export_date_forms.csv",
    "portal_export_formula_names.csv",
    "portal_export_duplicates.csv",
]
XLSX_SAMPLE = "portal_export_title_rows.xlsx"
# Bytes a block: tiny, so that an export of a thousand rows (~260 kB) streams in several blocks
# (stream_text_table reads Arrow blocks of at least 64 KiB whatever is asked).
BLOCK = 2_000
BIG = 1_000  # rows of a synthetic export that streams in several blocks
DEEP = 700  # a text line of such an export well past its first block
EVERY_BUCKET = list(range(LEARNER_BUCKETS))
HEADERS = list(claim())


def _spill(paths: list[Path], tmp_path: Path, block_bytes: int = BLOCK) -> SpilledExports:
    folder = tmp_path / "spill"
    folder.mkdir(exist_ok=True)
    return spill_portal_exports(paths, folder, block_bytes=block_bytes)


def _read_back(spilled: SpilledExports) -> pd.DataFrame:
    return spilled.inputs.read(EVERY_BUCKET, order_by="input_row")


def _whole_run(paths: list[Path]) -> pd.DataFrame:
    """The run's frame as the in-memory path builds it: each export whole, in file order."""
    frames = [read_portal_export(p).assign(file_order=i) for i, p in enumerate(paths)]
    run = pd.concat(frames, ignore_index=True)
    return run.assign(input_row=np.arange(len(run), dtype=np.int64))


def _assert_same_rows(spilled: SpilledExports, paths: list[Path]) -> pd.DataFrame:
    got, expected = _read_back(spilled), _whole_run(paths)
    # The spill keeps the file name as Arrow text; the whole read as pandas' default text.
    got["source_file"] = got["source_file"].astype(object)
    expected["source_file"] = expected["source_file"].astype(object)
    pd.testing.assert_frame_equal(got, expected)
    assert got["input_row"].tolist() == list(range(len(got)))
    assert spilled.file_rows == [len(read_portal_export(p)) for p in paths]
    assert spilled.input_rows == len(got) == int(spilled.inputs.rows.sum())
    return got


def _blocks(path: Path) -> int:
    blocks = stream_text_table(path, BLOCK)
    assert blocks is not None, f"{path.name} is not streamed"
    return sum(1 for _ in blocks)


def _export(tmp_path: Path, name: str, n: int = BIG, **overrides: object) -> Path:
    return write_export(tmp_path / name, [claim(**overrides) for _ in range(n)])


def _edited(path: Path, line: int, edit) -> Path:  # type: ignore[no-untyped-def]
    """`path` with its 0-based text line `line` replaced by `edit(line_text)`."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[line] = edit(lines[line])
    path.write_text("".join(lines), encoding="utf-8")
    return path


# --- the same rows as the whole-file read ------------------------------------------------------


def test_several_exports_spill_in_blocks_and_read_back_as_the_whole_run(tmp_path):
    big = _export(tmp_path, "big.csv")
    assert _blocks(big) >= 3
    paths = [SAMPLES / CSV_SAMPLES[0], big, *[SAMPLES / name for name in CSV_SAMPLES[1:]], SAMPLES / XLSX_SAMPLE]
    got = _assert_same_rows(_spill(paths, tmp_path), paths)
    # Each file's rows numbered on from the files before it.
    starts = np.cumsum([0, *[len(read_portal_export(p)) for p in paths]])
    for order, path in enumerate(paths):
        rows = got[got["file_order"] == order]
        assert set(rows["source_file"]) == {path.name}
        assert rows["input_row"].tolist() == list(range(starts[order], starts[order + 1]))


@pytest.mark.parametrize("name", [*CSV_SAMPLES, XLSX_SAMPLE])
def test_each_sample_alone(tmp_path, name):
    _assert_same_rows(_spill([SAMPLES / name], tmp_path), [SAMPLES / name])


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_encodings_across_blocks(tmp_path, encoding):
    names = ["Renée", "Begoña", "Jürgen", "Zoë"]
    rows = [claim(**{"First Name": names[i % 4] * (1 + i % 5)}) for i in range(BIG)]
    path = write_export(tmp_path / "export.csv", rows, encoding=encoding)
    assert _blocks(path) >= 3
    got = _assert_same_rows(_spill([path], tmp_path), [path])
    assert got["first_name"].tolist() == [r["First Name"] for r in rows]
    assert set(got["credit_type"]) == {"AMA PRA Category 1 Credit™"}


def test_rows_of_some_buckets_in_input_order(tmp_path):
    paths = [_export(tmp_path, "a.csv"), _export(tmp_path, "b.csv")]
    spilled = _spill(paths, tmp_path)
    whole = _whole_run(paths)
    chosen = sorted(set(learner_buckets(whole["learner_id"]).tolist()))[::3]
    part = spilled.inputs.read(chosen, order_by="input_row")
    expected = whole[np.isin(learner_buckets(whole["learner_id"]), chosen)]
    assert part["input_row"].tolist() == expected["input_row"].tolist()
    assert part["claim_id"].tolist() == expected["claim_id"].tolist()
    assert 0 < len(part) < len(whole)


def test_an_export_with_a_header_only_spills_no_rows(tmp_path):
    empty = tmp_path / "empty.csv"
    pd.DataFrame(columns=list(claim())).to_csv(empty, index=False)
    full = _export(tmp_path, "full.csv", n=5)
    spilled = _spill([empty, full, empty], tmp_path)
    assert spilled.file_rows == [0, 5, 0]
    _assert_same_rows(spilled, [empty, full, empty])
    nothing = spill_portal_exports([], tmp_path, block_bytes=BLOCK)
    assert nothing.input_rows == 0 and _read_back(nothing).empty and nothing.claim_buckets().empty


# --- what Arrow's exact path refuses: read whole, as read_portal_export ------------------------

# Arrow's exact path takes some defects row for row as pandas does; others it refuses past the
# first block, and the file is then read whole. Either way the rows must be the whole read's.
DEFECTS = {
    "blank line": (lambda line: "\n" + line, "streamed"),
    "row of empty cells": (lambda line: "," * 16 + "\n" + line, "streamed"),
    "header repeated": (lambda line: ",".join(HEADERS) + "\n" + line, "streamed"),  # a row like any other
    "newline inside a quoted value": (lambda line: line.replace("Avery", '"Av\nery"', 1), "streamed"),
    "line of spaces": (lambda line: "   \n" + line, "refused"),
    "ragged row, fewer cells": (lambda line: ",".join(line.split(",")[:5]) + "\n", "refused"),
}


def _stream_outcome(path: Path) -> str:
    blocks = stream_text_table(path, BLOCK)
    assert blocks is not None  # the first block is fine: the defect is further in
    try:
        assert sum(1 for _ in blocks) >= 3
    except StreamRefused:
        return "refused"
    return "streamed"


@pytest.mark.parametrize("defect", list(DEFECTS))
def test_a_defect_past_the_first_block_gives_the_whole_reads_rows(tmp_path, defect):
    edit, outcome = DEFECTS[defect]
    path = _edited(_export(tmp_path, "export.csv"), DEEP, edit)
    assert _stream_outcome(path) == outcome
    got = _assert_same_rows(_spill([path], tmp_path), [path])
    if defect in ("blank line", "row of empty cells", "line of spaces"):
        # The empty row is dropped, its line still counted.
        assert len(got) == BIG
        assert got["source_line"].tolist() == [*range(2, DEEP + 1), *range(DEEP + 2, BIG + 3)]


def test_a_fallback_file_among_streamed_ones_keeps_the_run_numbering(tmp_path):
    first = _export(tmp_path, "first.csv", n=30)
    broken = _edited(_export(tmp_path, "broken.csv"), DEEP, DEFECTS["ragged row, fewer cells"][0])
    assert _stream_outcome(broken) == "refused"
    last = _export(tmp_path, "last.csv", n=30)
    paths = [first, broken, SAMPLES / XLSX_SAMPLE, last]
    spilled = _spill(paths, tmp_path)
    _assert_same_rows(spilled, paths)  # no row of the refused attempt left behind
    assert spilled.file_rows == [30, BIG, 8, 30]
    assert len(spilled.claim_buckets()) == 30 + BIG + 8 + 30


def test_an_unreadable_file_fails_as_the_whole_read_does(tmp_path):
    path = _edited(_export(tmp_path, "export.csv"), DEEP, lambda line: line.rstrip("\n") + ",surplus\n")
    assert _stream_outcome(path) == "refused"
    with pytest.raises(ExtractError) as whole:
        read_portal_export(path)
    with pytest.raises(UnreadableFileError) as spilled:
        _spill([_export(tmp_path, "fine.csv", n=10), path], tmp_path)
    assert str(spilled.value) == str(whole.value)
    assert spilled.value.path == str(path)


def test_an_empty_file_fails_as_the_whole_read_does(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(ExtractError) as whole:
        read_portal_export(path)
    with pytest.raises(UnreadableFileError) as spilled:
        _spill([path], tmp_path)
    assert str(spilled.value) == str(whole.value)


# --- Excel and missing columns -----------------------------------------------------------------


def test_the_xlsx_sample_spills_with_its_sheet_rows(tmp_path):
    got = _assert_same_rows(_spill([SAMPLES / XLSX_SAMPLE], tmp_path), [SAMPLES / XLSX_SAMPLE])
    assert got["source_line"].tolist() == list(range(5, 13))
    assert got["claim_id"].tolist() == [f"CLM-080000{i}" for i in range(1, 9)]
    assert got.loc[got["claim_id"] == "CLM-0800007", "license_number"].item() == "0012345"


@pytest.mark.parametrize("position", [0, 1])
def test_a_missing_required_column_names_the_file(tmp_path, position):
    missing = SAMPLES / "portal_export_missing_required_column.csv"
    paths = [missing] if position == 0 else [_export(tmp_path, "fine.csv"), missing]
    with pytest.raises(MissingColumnsError) as caught:
        _spill(paths, tmp_path)
    assert caught.value.missing == ["credits"]
    assert caught.value.path == str(missing)
    assert str(caught.value).startswith(f"{missing.name}: ")


def test_a_required_column_missing_in_a_big_file_fails_in_its_first_block(tmp_path):
    rows = [{k: v for k, v in claim().items() if k != "Credits"} for _ in range(BIG)]
    path = write_export(tmp_path / "no_credits.csv", rows)
    assert _blocks(path) >= 3
    with pytest.raises(MissingColumnsError) as caught:
        _spill([path], tmp_path)
    assert caught.value.missing == ["credits"] and "no_credits.csv" in str(caught.value)


# --- the claim keys planning needs -------------------------------------------------------------


def test_claim_buckets_has_each_row_with_the_bucket_it_was_written_to(tmp_path):
    # Learners with several claims, one claim id under two learners, rows without ids.
    rows = [claim(**{"Learner ID": f"L{i % 7}"}) for i in range(BIG)]
    rows[10]["Claim ID"] = rows[900]["Claim ID"]  # in another block, under another learner
    rows[20]["Learner ID"] = None
    rows[30]["Claim ID"] = None
    paths = [write_export(tmp_path / "a.csv", rows), SAMPLES / "portal_export_biweekly.csv"]
    spilled = _spill(paths, tmp_path)
    keys = spilled.claim_buckets()
    whole = _whole_run(paths)
    assert len(keys) == spilled.input_rows == len(whole)
    assert keys["claim_id"].tolist() == whole["claim_id"].tolist()  # in input order (missing kept)
    np.testing.assert_array_equal(keys["bucket"].to_numpy(), learner_buckets(whole["learner_id"]))
    # ... and each row is in the file of that bucket.
    written = np.full(len(whole), -1)
    for bucket in np.flatnonzero(spilled.inputs.rows):
        rows_of_bucket = spilled.inputs.read([int(bucket)], order_by="input_row")["input_row"].to_numpy()
        written[rows_of_bucket] = bucket
    np.testing.assert_array_equal(keys["bucket"].to_numpy(), written)
    # Bucket files exist for the buckets with rows, and only for them.
    on_disk = sorted(int(p.stem.split("-")[1]) for p in (tmp_path / "spill").glob("input-*.arrow"))
    assert on_disk == np.flatnonzero(spilled.inputs.rows).tolist()
