"""Synthetic portal exports and activity maps, vectorised and fully deterministic from a seed.

No real person: first names come from a short list of common given names and last names from a
list of invented, test-flavoured surnames ("Testwell", "Mockridge", ...), so every combination is
obviously synthetic; e-mail addresses are at ``example.org``.

    python -m bench.synthetic --n 1000 --out DIR

writes ``DIR/portal_export.csv`` and ``DIR/activity_map.csv``.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

MAP_COLUMNS: tuple[str, ...] = (
    "Portal Activity ID",
    "ACCME Activity ID",
    "Activity Title",
    "Max Credits",
    "Start Date",
    "End Date",
)
EXPORT_COLUMNS: tuple[str, ...] = (
    "Claim ID",
    "Activity ID",
    "Learner ID",
    "First Name",
    "Last Name",
    "Email",
    "Degree",
    "Date of Birth",
    "License State",
    "License Number",
    "NPI",
    "Credit Type",
    "Credits",
    "Completion Date",
    "Claim Date",
    "Report Consent",
    "Claim Status",
    "Activity Title",
)

CATEGORY_1 = "AMA PRA Category 1 Credit™"
CUTOFF = "2023-07-01"
ACTIVITY_FIRST_DAY = "2022-01-01"
ACTIVITY_LAST_DAY = "2026-11-01"

# Fractions used by make_portal_export; override any of them with `rates=`.
DEFAULT_RATES: dict[str, float] = {
    "unmapped": 0.03,  # claims on a portal activity absent from the map
    "non_physician": 0.15,  # learners whose degree is not MD/DO/MBBS
    "non_category_1": 0.08,  # claims whose credit type is not AMA PRA Category 1
    "before_cutoff": 0.05,  # claims completed before 2023-07-01
    "identity_incomplete": 0.04,  # learners without birth date or without licensing state
    "birth_mmdd": 0.16,  # learners whose birth date is held as MM/DD only
    "state_full_name": 0.08,  # learners whose state is spelled out ("California")
    "invalid_npi": 0.01,  # learners whose NPI fails the Luhn check
    "missing_npi": 0.03,  # learners without an NPI
    "missing_license_number": 0.05,  # learners without a license number
    "missing_email": 0.02,
    "exceed_max": 0.01,  # claims above the activity's designated maximum
    "not_quarter": 0.005,  # claims whose credits are not a multiple of 0.25
    "no_consent": 0.01,
    "revoked": 0.01,
    "future": 0.002,  # claims completed after as_of
    "outside_dates": 0.005,  # claims completed outside the activity's dates (but not in the future)
}

FIRST_NAMES = np.array(
    [
        "Avery", "Jordan", "Riley", "Casey", "Morgan", "Quinn", "Rowan", "Skyler",
        "Taylor", "Parker", "Emerson", "Harper", "Sage", "Reese", "Dakota", "Finley",
        "Kendall", "Logan", "Marlow", "Peyton", "Remy", "Shiloh", "Tatum", "Wren",
    ],
    dtype=object,
)  # fmt: skip
LAST_NAMES = np.array(
    [
        "Testwell", "Mockridge", "Sampleton", "Fixturo", "Stubbins", "Placeholt",
        "Exampleby", "Synthwood", "Dummington", "Fakely", "Protovale", "Demoson",
        "Trialsby", "Checkworth", "Assertin", "Verifield", "Pytestra", "Benchmarke",
        "Lintwell", "Seedsworth", "Randomova", "Fauxley", "Specimer", "Draftham",
    ],
    dtype=object,
)  # fmt: skip
PHYSICIAN_DEGREES = np.array(["MD", "DO", "M.D.", "MBBS", "D.O."], dtype=object)
PHYSICIAN_WEIGHTS = np.array([0.55, 0.15, 0.15, 0.08, 0.07])
OTHER_DEGREES = np.array(["RN", "NP", "PA-C", "PharmD"], dtype=object)
OTHER_WEIGHTS = np.array([0.35, 0.25, 0.25, 0.15])
NURSING_DEGREES = ("RN", "NP")

# US states, DC and Puerto Rico: postal code, full name, rough weight (bigger states more often).
STATES: tuple[tuple[str, str, float], ...] = (
    ("AL", "Alabama", 1), ("AK", "Alaska", 0.3), ("AZ", "Arizona", 2), ("AR", "Arkansas", 1),
    ("CA", "California", 10), ("CO", "Colorado", 2), ("CT", "Connecticut", 1), ("DE", "Delaware", 0.3),
    ("DC", "District of Columbia", 0.5), ("FL", "Florida", 6), ("GA", "Georgia", 3), ("HI", "Hawaii", 0.5),
    ("ID", "Idaho", 0.5), ("IL", "Illinois", 4), ("IN", "Indiana", 2), ("IA", "Iowa", 1),
    ("KS", "Kansas", 1), ("KY", "Kentucky", 1), ("LA", "Louisiana", 1), ("ME", "Maine", 0.4),
    ("MD", "Maryland", 2), ("MA", "Massachusetts", 3), ("MI", "Michigan", 3), ("MN", "Minnesota", 2),
    ("MS", "Mississippi", 1), ("MO", "Missouri", 2), ("MT", "Montana", 0.3), ("NE", "Nebraska", 0.6),
    ("NV", "Nevada", 1), ("NH", "New Hampshire", 0.4), ("NJ", "New Jersey", 3), ("NM", "New Mexico", 0.6),
    ("NY", "New York", 7), ("NC", "North Carolina", 3), ("ND", "North Dakota", 0.3), ("OH", "Ohio", 4),
    ("OK", "Oklahoma", 1), ("OR", "Oregon", 1.5), ("PA", "Pennsylvania", 4), ("RI", "Rhode Island", 0.4),
    ("SC", "South Carolina", 1.5), ("SD", "South Dakota", 0.3), ("TN", "Tennessee", 2), ("TX", "Texas", 8),
    ("UT", "Utah", 1), ("VT", "Vermont", 0.3), ("VA", "Virginia", 3), ("WA", "Washington", 2.5),
    ("WV", "West Virginia", 0.5), ("WI", "Wisconsin", 2), ("WY", "Wyoming", 0.2), ("PR", "Puerto Rico", 0.5),
)  # fmt: skip
STATE_CODES = np.array([s[0] for s in STATES], dtype=object)
STATE_NAMES = np.array([s[1] for s in STATES], dtype=object)
STATE_WEIGHTS = np.array([s[2] for s in STATES], dtype=float)

TITLE_FORMATS = np.array(
    ["Grand Rounds", "Enduring Module", "Annual Conference", "Webinar", "Case Review", "Workshop"],
    dtype=object,
)
TITLE_TOPICS = np.array(
    [
        "Synthetic Cardiology", "Placeholder Oncology", "Mock Nephrology", "Sample Sepsis Care",
        "Example Dermatology", "Fixture Pediatrics", "Stub Geriatrics", "Demo Pharmacology",
        "Test Airway Skills", "Dummy Radiology", "Trial Endocrinology", "Model Neurology",
    ],
    dtype=object,
)  # fmt: skip

_EPOCH = np.datetime64("1970-01-01", "D")
REDRAW_ROUNDS = 100  # repeats of a learner's activity redrawn (half with the same learner first)
_NPI_PREFIX = (8, 0, 8, 4, 0)


# --------------------------------------------------------------------------- helpers


def _day(value: str) -> int:
    """ISO date -> days since 1970-01-01."""
    return int((np.datetime64(value, "D") - _EPOCH).astype(np.int64))


def _format_days(days: np.ndarray, fmt: str) -> np.ndarray:
    """Days since epoch -> formatted strings (object array); each distinct day formatted once."""
    uniq, inverse = np.unique(days, return_inverse=True)
    labels = pd.DatetimeIndex(uniq.astype("datetime64[D]")).strftime(fmt).to_numpy(dtype=object)
    return labels[inverse]


def _zfill(values: np.ndarray, width: int) -> np.ndarray:
    """Non-negative integers -> zero-padded decimal strings (object array)."""
    return np.char.zfill(values.astype(np.int64).astype(str), width).astype(object)


def _strings(values: np.ndarray, codes: np.ndarray | None = None) -> pd.Series:
    """A ``str`` column from a (small) vocabulary and integer codes into it; None stays missing.

    Taking through Arrow keeps a million-row column cheap: each distinct text is converted once.
    """
    arr = pa.array(np.asarray(values, dtype=object), type=pa.string(), from_pandas=True)
    if codes is not None:
        arr = arr.take(pa.array(np.asarray(codes, dtype=np.int64)))
    return pd.Series(arr, dtype="str")


def _duplicated(*keys: np.ndarray) -> np.ndarray:
    """True for every repeat (not the first occurrence) of the tuple of non-negative int keys."""
    combined = np.zeros(len(keys[0]), dtype=np.int64)
    for key in keys:
        key = np.asarray(key, dtype=np.int64)
        key = key - (key.min() if len(key) else 0)
        combined = combined * (int(key.max(initial=0)) + 1) + key
    return pd.Series(combined).duplicated(keep="first").to_numpy()


def _concat(*parts: np.ndarray | str) -> np.ndarray:
    """Element-wise string concatenation of object arrays and scalars."""
    out: np.ndarray | str = ""
    for part in parts:
        out = np.asarray(out, dtype=object) + np.asarray(part, dtype=object)
    return np.asarray(out, dtype=object)


def npi_check_digit(first_nine: np.ndarray) -> np.ndarray:
    """Luhn check digit over the prefix 80840 followed by the first nine NPI digits (vectorised)."""
    first_nine = np.asarray(first_nine, dtype=np.int64)
    # Digits of the 14-digit payload, left to right.
    powers = 10 ** np.arange(8, -1, -1, dtype=np.int64)
    body = (first_nine[:, None] // powers) % 10
    prefix = np.broadcast_to(np.array(_NPI_PREFIX, dtype=np.int64), (len(first_nine), 5))
    digits = np.concatenate([prefix, body], axis=1)
    # With the check digit appended, the payload's rightmost digit is doubled, then every other one.
    doubled = (np.arange(digits.shape[1])[::-1] % 2) == 0
    values = np.where(doubled, digits * 2, digits)
    values = np.where(values > 9, values - 9, values)
    return (10 - values.sum(axis=1) % 10) % 10


def npi_is_valid(npi: pd.Series) -> pd.Series:
    """True where the value is a 10-digit NPI with a correct check digit."""
    text = npi.astype("str").str.strip()
    ok = text.str.fullmatch(r"\d{10}").fillna(False).astype(bool)
    result = pd.Series(False, index=npi.index)
    if ok.any():
        numbers = text[ok].astype(np.int64).to_numpy()
        result[ok] = npi_check_digit(numbers // 10) == numbers % 10
    return result


def _rates(rates: Mapping[str, float] | None) -> dict[str, float]:
    merged = dict(DEFAULT_RATES)
    if rates:
        unknown = set(rates) - set(merged)
        if unknown:
            raise ValueError(f"unknown rates: {sorted(unknown)}")
        merged.update(rates)
    return merged


# --------------------------------------------------------------------------- activity map


def make_activity_map(n_activities: int = 400, seed: int = 7) -> pd.DataFrame:
    """A synthetic activity map: portal ids ``CRS-0001``... with ACCME ids, titles, limits, dates.

    About 5% of the activities have no ACCME id yet (not registered); a few series of 2-4
    weekly sessions share one ACCME id.
    """
    if n_activities < 1:
        raise ValueError("n_activities must be at least 1")
    rng = np.random.default_rng(seed)
    n = n_activities
    first, last = _day(ACTIVITY_FIRST_DAY), _day(ACTIVITY_LAST_DAY)

    # Kind: 0 live single day, 1 multi-day conference, 2 enduring material.
    kind = rng.choice(3, size=n, p=[0.45, 0.15, 0.40])
    start = rng.integers(first, last + 1, size=n)
    length = np.select(
        [kind == 0, kind == 1], [np.zeros(n, np.int64), rng.integers(1, 5, size=n)], rng.integers(90, 1096, size=n)
    )
    end = np.minimum(start + length, last)
    quarters = np.select(
        [kind == 0, kind == 1],
        [rng.integers(1, 33, size=n), rng.integers(32, 161, size=n)],
        rng.integers(1, 17, size=n),
    )
    max_credits = quarters * 0.25

    # ACCME id: the start year and five digits, unique.
    years = start.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    suffix = rng.choice(100_000, size=n, replace=n > 100_000)
    accme = _concat(years.astype(str).astype(object), _zfill(suffix, 5))

    # Series: a few runs of 2-4 weekly single-day sessions sharing the first session's ACCME id.
    n_series = min(max(1, n // 60), n // 4) if n >= 4 else 0
    is_series = np.zeros(n, dtype=bool)
    if n_series:
        heads = rng.choice(n // 4, size=n_series, replace=False) * 4
        sizes = rng.integers(2, 5, size=n_series)
        sizes = np.minimum(sizes, n - heads)
        group_start = np.repeat(np.cumsum(sizes) - sizes, sizes)
        members = np.repeat(heads, sizes) + (np.arange(sizes.sum()) - group_start)
        head_of = np.repeat(heads, sizes)
        session = np.arange(sizes.sum()) - group_start  # 0 for the head
        head_start = np.minimum(start[heads], last - 7 * 3)
        start[members] = np.repeat(head_start, sizes) + 7 * session
        end[members] = start[members]
        max_credits[members] = max_credits[head_of].clip(max=2.0)
        accme[members] = accme[head_of]
        is_series[members] = True

    # About 5% not registered yet (never a series member, so a series stays consistent).
    unregistered = (rng.random(n) < 0.05) & ~is_series
    if n >= 20 and not unregistered.any():
        unregistered[np.flatnonzero(~is_series)[0]] = True
    accme = np.where(unregistered, None, accme)

    width = max(4, len(str(n)))
    portal = _concat("CRS-", _zfill(np.arange(1, n + 1), width))
    title = _concat(
        TITLE_FORMATS[rng.integers(0, len(TITLE_FORMATS), size=n)],
        ": ",
        TITLE_TOPICS[rng.integers(0, len(TITLE_TOPICS), size=n)],
        " ",
        portal,
    )
    if n_series:
        title[members] = _concat(title[head_of], " - Session ", (session + 1).astype(str).astype(object))

    return pd.DataFrame(
        {
            "Portal Activity ID": portal,
            "ACCME Activity ID": accme,
            "Activity Title": title,
            "Max Credits": max_credits,
            "Start Date": _format_days(start, "%Y-%m-%d"),
            "End Date": _format_days(end, "%Y-%m-%d"),
        },
        columns=list(MAP_COLUMNS),
    )


# --------------------------------------------------------------------------- portal export


def _unmapped_ids(mapped: np.ndarray, count: int) -> np.ndarray:
    """``count`` portal ids in the map's style that are not in the map."""
    candidates = _concat("CRS-", _zfill(np.arange(len(mapped) + 1, len(mapped) + 1 + 2 * count + 10), 4))
    candidates = candidates[~np.isin(candidates.astype(str), mapped.astype(str))]
    return candidates[:count]


def _learners(n_learners: int, rng: np.random.Generator, r: Mapping[str, float]) -> dict[str, np.ndarray]:
    """Learner-level attributes (object arrays, None for missing)."""
    size = n_learners
    width = max(6, len(str(2 * size)))
    ids = np.sort(rng.choice(10**width, size=size, replace=False))
    learner_id = _concat("L", _zfill(ids, width))
    first = FIRST_NAMES[rng.integers(0, len(FIRST_NAMES), size=size)]
    last = LAST_NAMES[rng.integers(0, len(LAST_NAMES), size=size)]
    email = (
        pd.Series(_concat(first, ".", last, ".", learner_id, "@example.org"), dtype=object)
        .str.lower()
        .to_numpy(dtype=object)
    )
    email = np.where(rng.random(size) < r["missing_email"], None, email)

    physician = rng.random(size) >= r["non_physician"]
    degree = np.where(
        physician,
        PHYSICIAN_DEGREES[rng.choice(len(PHYSICIAN_DEGREES), size=size, p=PHYSICIAN_WEIGHTS)],
        OTHER_DEGREES[rng.choice(len(OTHER_DEGREES), size=size, p=OTHER_WEIGHTS)],
    )

    born = rng.integers(_day("1945-01-01"), _day("1999-12-31") + 1, size=size)
    birth = np.where(rng.random(size) < r["birth_mmdd"], _format_days(born, "%m/%d"), _format_days(born, "%m/%d/%Y"))
    state_idx = rng.choice(len(STATES), size=size, p=STATE_WEIGHTS / STATE_WEIGHTS.sum())
    state = np.where(rng.random(size) < r["state_full_name"], STATE_NAMES[state_idx], STATE_CODES[state_idx])
    incomplete = rng.random(size) < r["identity_incomplete"]
    no_birth = incomplete & (rng.random(size) < 0.5)
    birth = np.where(no_birth, None, birth)
    state = np.where(incomplete & ~no_birth, None, state)

    letters = np.array(list("ABCDEGMPR"), dtype=object)[rng.integers(0, 9, size=size)]
    license_number = _concat(letters, _zfill(rng.integers(0, 1_000_000, size=size), 6))
    license_number = np.where(rng.random(size) < r["missing_license_number"], None, license_number)

    first_nine = rng.integers(100_000_000, 300_000_000, size=size)
    check = npi_check_digit(first_nine)
    bad = rng.random(size) < r["invalid_npi"]
    check = np.where(bad, (check + rng.integers(1, 10, size=size)) % 10, check)
    npi = (first_nine * 10 + check).astype(str).astype(object)
    npi = np.where(rng.random(size) < r["missing_npi"], None, npi)

    return {
        "Learner ID": learner_id,
        "First Name": first,
        "Last Name": last,
        "Email": email,
        "Degree": degree,
        "Date of Birth": birth,
        "License State": state,
        "License Number": license_number,
        "NPI": npi,
        "physician": physician,
    }


def make_portal_export(
    n: int,
    activity_map: pd.DataFrame,
    seed: int = 11,
    as_of: str = "2026-11-26",
    *,
    rates: Mapping[str, float] | None = None,
    claim_window_days: int | None = None,
    n_learners: int | None = None,
) -> pd.DataFrame:
    """``n`` synthetic credit claims against ``activity_map`` (headers as in ``MAP_COLUMNS``).

    ``n_learners`` learners (default n/8) with a stable identity each, every one claiming at
    least once when n allows; rates of the defects in ``DEFAULT_RATES`` (override with
    ``rates``). Claim dates follow completion by 0-60 days and are never after ``as_of``; with
    ``claim_window_days`` every claim is claimed within that many days before ``as_of`` (a
    biweekly export). A learner claims an ACCME activity (the sessions of a series count as one)
    at most once: a repeat is redrawn, so the cumulative activity maximum rarely bites, as in a
    real export. Only a map too small for a learner's number of claims leaves repeats.
    """
    if n < 0:
        raise ValueError("n must be non-negative")
    if n_learners is not None and n_learners < 1:
        raise ValueError("n_learners must be at least 1")
    r = _rates(rates)
    rng = np.random.default_rng(seed)
    cutoff, today = _day(CUTOFF), _day(as_of)

    amap = activity_map.reset_index(drop=True)
    portal = amap["Portal Activity ID"].astype(str).to_numpy(dtype=object)
    a_start = (pd.to_datetime(amap["Start Date"]).to_numpy().astype("datetime64[D]") - _EPOCH).astype(np.int64)
    a_end = (pd.to_datetime(amap["End Date"]).to_numpy().astype("datetime64[D]") - _EPOCH).astype(np.int64)
    a_max = pd.to_numeric(amap["Max Credits"]).to_numpy(dtype=float)
    a_title = amap["Activity Title"].astype(object).to_numpy(dtype=object)
    n_map = len(amap)

    # Unmapped activities are appended after the mapped ones (index >= n_map).
    n_unmapped = max(3, n_map // 20)
    u_ids = _unmapped_ids(portal, n_unmapped)
    n_unmapped = len(u_ids)
    all_ids = np.concatenate([portal, u_ids])
    all_title = np.concatenate([a_title, _concat("Unlisted Session ", u_ids)])
    all_max = np.concatenate([a_max, rng.choice([0.5, 1.0, 1.5, 2.0, 3.0], size=n_unmapped)])
    # What the cumulative rule groups by: the ACCME id (shared by a series), else the portal id.
    a_accme = amap["ACCME Activity ID"].astype("string")
    group_key = pd.concat([a_accme.fillna("portal:" + amap["Portal Activity ID"].astype(str)),
                           pd.Series("portal:" + u_ids.astype(str))], ignore_index=True)  # fmt: skip
    activity_group = pd.factorize(group_key)[0].astype(np.int64)

    # Popularity: a few activities draw many claims.
    popularity = rng.lognormal(0.0, 1.0, size=n_map)

    def pick(pool: np.ndarray, size: int) -> np.ndarray:
        if size == 0:
            return np.zeros(0, dtype=np.int64)
        weights = popularity[pool] / popularity[pool].sum()
        return pool[rng.choice(len(pool), size=size, p=weights)]

    pre = rng.random(n) < r["before_cutoff"]
    unmapped = (rng.random(n) < r["unmapped"]) | (n_map == 0)
    activity = np.zeros(n, dtype=np.int64)
    completion = np.zeros(n, dtype=np.int64)
    pools = {
        True: np.flatnonzero(a_start < cutoff),
        False: np.flatnonzero((a_end >= cutoff) & (a_start <= today)),
    }

    def draw(rows: np.ndarray) -> None:
        """(Re)draw activity and completion day of ``rows``: within the activity's dates, on
        the side of the cutoff the row was given, never after as_of."""
        lo = np.zeros(len(rows), dtype=np.int64)
        hi = np.zeros(len(rows), dtype=np.int64)
        for is_pre, pool in pools.items():
            sel = (pre[rows] == is_pre) & ~unmapped[rows]
            if not sel.any():
                continue
            if len(pool) == 0:  # no activity fits: any activity, date outside its dates
                activity[rows[sel]] = pick(np.arange(n_map), int(sel.sum()))
                lo[sel], hi[sel] = (_day(ACTIVITY_FIRST_DAY), cutoff - 1) if is_pre else (cutoff, today)
                continue
            act = activity[rows[sel]] = pick(pool, int(sel.sum()))
            if is_pre:
                lo[sel], hi[sel] = a_start[act], np.minimum(a_end[act], cutoff - 1)
            else:
                lo[sel], hi[sel] = np.maximum(a_start[act], cutoff), np.minimum(a_end[act], today)
        sel = unmapped[rows]
        activity[rows[sel]] = n_map + rng.integers(0, n_unmapped, size=int(sel.sum()))
        lo[sel] = np.where(pre[rows[sel]], _day(ACTIVITY_FIRST_DAY), cutoff)
        hi[sel] = np.where(pre[rows[sel]], cutoff - 1, today)
        completion[rows] = lo + np.floor(rng.random(len(rows)) * (hi - lo + 1)).astype(np.int64)

    draw(np.arange(n))
    mapped_idx = np.flatnonzero(~unmapped)
    outside = np.zeros(n, dtype=bool)
    outside[mapped_idx] = rng.random(len(mapped_idx)) < r["outside_dates"]
    if outside.any():
        act = activity[outside]
        after = a_end[act] + rng.integers(1, 31, size=len(act))
        before = a_start[act] - rng.integers(1, 31, size=len(act))
        completion[outside] = np.where(after <= today, after, before)
    future = rng.random(n) < r["future"]
    completion[future] = today + rng.integers(1, 31, size=int(future.sum()))

    # Learners: everyone in the pool claims once, the remaining claims go to random learners. A
    # repeat of a learner's ACCME activity gets another activity and day; if that keeps failing
    # (a learner with more claims than the map has room for), another learner too.
    n_learners = max(1, n // 8) if n_learners is None else n_learners
    once = rng.permutation(n_learners)[: min(n, n_learners)]
    learner = rng.permutation(np.concatenate([once, rng.integers(0, n_learners, size=n - len(once))]))
    checked = np.arange(n)  # after the first round only the redrawn rows' learners can repeat
    for attempt in range(REDRAW_ROUNDS):
        dup = checked[_duplicated(learner[checked], activity_group[activity[checked]])]
        if not len(dup):
            break
        if attempt >= REDRAW_ROUNDS // 2:
            learner[dup] = rng.integers(0, n_learners, size=len(dup))
        draw(dup)
        checked = np.flatnonzero(np.isin(learner, learner[dup]))
    people = _learners(n_learners, rng, r)
    physician = people.pop("physician")[learner]

    # Credit type: non-physicians more often claim other credit; nurses get contact hours.
    p_other = min(0.4, r["non_category_1"] / r["non_physician"]) if r["non_physician"] > 0 else 0.0
    p_phys = max(0.0, (r["non_category_1"] - r["non_physician"] * p_other) / max(1e-9, 1 - r["non_physician"]))
    other_credit = rng.random(n) < np.where(physician, p_phys, p_other)
    nurse = np.isin(people["Degree"].astype(str), NURSING_DEGREES)[learner]
    credit_vocab = np.array([CATEGORY_1, "Participation", "ANCC Contact Hours"], dtype=object)
    credit_code = np.where(other_credit, np.where(nurse, 2, 1), 0)

    # Credits: quarter hours, often the activity's maximum.
    quarters = np.maximum(1, np.round(all_max[activity] * 4).astype(np.int64))
    chosen = np.where(rng.random(n) < 0.6, quarters, rng.integers(1, quarters + 1))
    exceed = rng.random(n) < r["exceed_max"]
    chosen = np.where(exceed, quarters + rng.integers(1, 9, size=n), chosen)
    credits = chosen * 0.25
    odd = rng.random(n) < r["not_quarter"]
    credits = np.where(odd, credits - 0.25 + rng.choice([0.1, 0.2, 0.33], size=n), credits)
    credits = np.round(credits, 2)

    if claim_window_days is None:
        lag = np.minimum(rng.geometric(0.08, size=n) - 1, 60)
        claimed = np.minimum(completion + lag, today)
    else:
        window_lo = np.maximum(np.minimum(completion, today), today - claim_window_days)
        claimed = window_lo + np.floor(rng.random(n) * (today - window_lo + 1)).astype(np.int64)

    no_consent = (rng.random(n) < r["no_consent"]).astype(np.int64)
    revoked = (rng.random(n) < r["revoked"]).astype(np.int64)

    # Claim ids follow the order in which claims were made.
    order = np.lexsort((completion, claimed))
    width = max(7, len(str(n)))
    numbers = pc.cast(pa.array(np.arange(1, n + 1, dtype=np.int64)), pa.string())
    claim_id = pd.Series(pc.binary_join_element_wise("CLM-", pc.utf8_lpad(numbers, width, "0"), ""), dtype="str")

    def dated(days: np.ndarray) -> pd.Series:
        uniq, inverse = np.unique(days, return_inverse=True)
        labels = pd.DatetimeIndex(uniq.astype("datetime64[D]")).strftime("%m/%d/%Y").to_numpy(dtype=object)
        return _strings(labels, inverse)

    by_learner = learner[order]
    by_activity = activity[order]
    columns: dict[str, pd.Series] = {
        "Claim ID": claim_id,
        "Activity ID": _strings(all_ids, by_activity),
        **{k: _strings(v, by_learner) for k, v in people.items()},
        "Credit Type": _strings(credit_vocab, credit_code[order]),
        "Credits": pd.Series(credits[order]),
        "Completion Date": dated(completion[order]),
        "Claim Date": dated(claimed[order]),
        "Report Consent": _strings(np.array(["Y", "N"], dtype=object), no_consent[order]),
        "Claim Status": _strings(np.array(["Active", "Revoked"], dtype=object), revoked[order]),
        "Activity Title": _strings(all_title, by_activity),
    }
    return pd.DataFrame({c: columns[c] for c in EXPORT_COLUMNS}, columns=list(EXPORT_COLUMNS))


def write_csv(frame: pd.DataFrame, path: str | Path, *, engine: str = "pandas") -> Path:
    """Write ``frame`` as UTF-8 CSV without the index; returns the path.

    ``engine="pandas"`` quotes only where needed (readable; ~15 s for a million rows);
    ``engine="arrow"`` is ~20x faster but quotes every text value and writes 2.0 as ``2``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if engine == "arrow":
        import pyarrow.csv as pcsv

        table = pa.Table.from_pandas(frame, preserve_index=False)
        pcsv.write_csv(table, path, write_options=pcsv.WriteOptions(quoting_style="needed"))
    elif engine == "pandas":
        frame.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
    else:
        raise ValueError(f"unknown engine {engine!r}: use 'pandas' or 'arrow'")
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.synthetic", description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="number of claims")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--activities", type=int, default=400, help="number of mapped activities")
    parser.add_argument("--seed", type=int, default=11, help="seed of the portal export")
    parser.add_argument("--map-seed", type=int, default=7, help="seed of the activity map")
    parser.add_argument("--as-of", default="2026-11-26", help="run date (ISO)")
    parser.add_argument(
        "--engine", choices=("pandas", "arrow"), default="pandas", help="CSV writer (arrow: fast, quotes all text)"
    )
    args = parser.parse_args(argv)
    amap = make_activity_map(args.activities, seed=args.map_seed)
    export = make_portal_export(args.n, amap, seed=args.seed, as_of=args.as_of)
    write_csv(amap, args.out / "activity_map.csv", engine=args.engine)
    write_csv(export, args.out / "portal_export.csv", engine=args.engine)
    print(f"wrote {len(export)} claims and {len(amap)} activities to {args.out}")


if __name__ == "__main__":
    main()
