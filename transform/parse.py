"""Vectorised parsers for the values real portals export: dates, credits, states, yes/no."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from transform.us_states import STATE_CODES

# Excel's day zero (with its 1900 leap-year bug folded in): serial 45356 is 2024-03-05.
EXCEL_EPOCH = pd.Timestamp("1899-12-30")
EXCEL_SERIAL_RANGE = (20_000, 80_000)  # 1954..2119: wide enough, never a plausible year or id
_DATE_PART = r"^\s*(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}/\d{4}|\d{1,2}-\d{1,2}-\d{4}|\d+(?:\.\d+)?)(?:[T\s].*)?$"
_TRUE = {"y", "yes", "true", "t", "1", "x"}
_FALSE = {"n", "no", "false", "f", "0"}


def parse_dates(values: pd.Series) -> pd.Series:
    """Dates as ISO, MM/DD/YYYY or M/D/YYYY (any time part ignored, no zone shift) or Excel serials.

    Unparseable text gives NaT; the caller tells missing from invalid by the input's nulls.
    """
    part = values.astype("string").str.extract(_DATE_PART, expand=False)
    iso = pd.to_datetime(part, format="%Y-%m-%d", errors="coerce")
    us = pd.to_datetime(part.str.replace("-", "/", regex=False), format="%m/%d/%Y", errors="coerce")
    serial = pd.to_numeric(part.where(part.str.fullmatch(r"\d+(?:\.\d+)?").fillna(False)), errors="coerce")
    in_range = serial.between(*EXCEL_SERIAL_RANGE)
    from_serial = EXCEL_EPOCH + pd.to_timedelta(np.floor(serial.where(in_range)), unit="D")
    out = iso.fillna(us).fillna(from_serial)
    return out.dt.normalize().astype("datetime64[ns]")


def parse_birth_mmdd(values: pd.Series) -> pd.Series:
    """Birth month/day as `MM/DD` from a full date or `MM/DD`; invalid (e.g. 02/30) gives NA."""
    text = values.astype("string").str.strip()
    short = text.str.extract(r"^(\d{1,2})[/-](\d{1,2})$")
    # Day and month are checked in a leap year so that 02/29 is valid.
    short_dates = pd.to_datetime(
        "2000-" + short[0].str.zfill(2) + "-" + short[1].str.zfill(2), format="%Y-%m-%d", errors="coerce"
    )
    full = parse_dates(text.where(short[0].isna()))
    when = short_dates.fillna(full)
    return when.dt.strftime("%m/%d").astype("string")


def parse_credits(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.strip().str.replace(",", ".", regex=False)
    return pd.to_numeric(text, errors="coerce").astype("float64")


def parse_yes_no(values: pd.Series) -> pd.Series:
    """True/False for the common spellings; NA for blank or anything else."""
    key = values.astype("string").str.strip().str.casefold()
    out = pd.Series(pd.NA, index=values.index, dtype="boolean")
    out[key.isin(_TRUE).fillna(False)] = True
    out[key.isin(_FALSE).fillna(False)] = False
    return out


def parse_state(values: pd.Series) -> pd.Series:
    """Two-letter code for a postal code or full name of a state, DC or territory; NA otherwise."""
    key = values.astype("string").str.strip().str.replace(".", "", regex=False).str.casefold()
    key = key.str.replace(r"\s+", " ", regex=True)
    return key.map(STATE_CODES).astype("string")


def digits_only_id(values: pd.Series) -> pd.Series:
    """An id that Excel may have turned into a number ("1234567893.0") back to its digits."""
    text = values.astype("string").str.strip()
    if not text.str.contains(".", regex=False).any():  # nothing to undo: skip the regex pass
        return text
    return text.str.replace(r"^(\d+)\.0+$", r"\1", regex=True)


def npi_is_valid(npi: pd.Series) -> pd.Series:
    """10 digits whose last is the Luhn check digit over `80840` + the first nine."""
    text = digits_only_id(npi)
    # Ten ASCII digits (ten bytes): a regex `\d` would also take other scripts' digits.
    array = pa.array(text.array)
    shaped_array = pc.and_(pc.ascii_is_decimal(array), pc.equal(pc.binary_length(array), 10))
    shaped = np.asarray(pc.fill_null(shaped_array, False).to_numpy(zero_copy_only=False), dtype=bool)
    valid = np.zeros(len(text), dtype=bool)
    if shaped.any():
        digits = _ascii_digits(pc.filter(array, pa.array(shaped)), width=10).astype(np.int16)
        # Luhn from the right over `80840` + the ten digits: the check digit stays, every second
        # digit before it is doubled (digit sums). The prefix adds 24 whatever the NPI.
        doubled = digits[:, 0:9:2] * 2
        total = 24 + (doubled // 10 + doubled % 10).sum(axis=1) + digits[:, 1::2].sum(axis=1)
        valid[shaped] = total % 10 == 0
    return pd.Series(valid, index=npi.index)


def _ascii_digits(texts: pa.Array | pa.ChunkedArray, width: int) -> np.ndarray:
    """Texts of `width` ASCII digits each as an (n, width) array of digit values, without
    building a Python string per value: Arrow joins them into one buffer."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    texts = texts.cast(pa.large_string())
    as_list = pa.LargeListArray.from_arrays(pa.array([0, len(texts)], pa.int64()), texts)
    joined = pc.binary_join(as_list, pa.scalar("", pa.large_string()))[0]
    return np.frombuffer(joined.as_buffer(), dtype=np.uint8).reshape(-1, width) - 48


def starts_like_formula(values: pd.Series) -> pd.Series:
    """A value a spreadsheet would run: it starts with =, +, -, @, tab, CR or LF."""
    raw = values.astype("string")
    return raw.str.match(r"^[=+\-@\t\r\n]").fillna(False).astype(bool)
