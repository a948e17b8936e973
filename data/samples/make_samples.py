"""Write the committed sample files of data/samples/ and their README (deterministic).

    .venv/bin/python data/samples/make_samples.py

Every person here is synthetic: given names from a short list, invented surnames ("Testwell",
"Mockridge", ...), e-mail at example.org. NPIs are generated with a correct check digit only.

The expected outcomes written to README.md are computed here, from the files as written and read
back, by a small reference classifier that applies the rules of DESIGN.md / PARS.md in the
precedence of schemas/reasons.py on a fresh ledger. It is a yardstick for the samples, not the
pipeline's implementation.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import re
import sys
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from crosscheck import Verdict, cross_check  # noqa: E402

from bench.synthetic import (  # noqa: E402
    CATEGORY_1,
    EXPORT_COLUMNS,
    MAP_COLUMNS,
    STATE_CODES,
    STATE_NAMES,
    make_portal_export,
    npi_check_digit,
    npi_is_valid,
    write_csv,
)
from schemas.portal_claim import CLAIM_HEADERS, FREE_TEXT_FIELDS, REQUIRED_CLAIM_FIELDS  # noqa: E402
from schemas.reasons import DELAY_PRECEDENCE, REJECTION_PRECEDENCE, Reason  # noqa: E402

AS_OF = "2026-11-26"
CUTOFF = "2023-07-01"
SEED = 20261126
BIWEEKLY_ROWS = 250
FIXED_TIME = dt.datetime(2026, 11, 26, 0, 0, 0)

# --------------------------------------------------------------------------- the activity map

# Portal id, ACCME id ("" = not registered yet), title, max credits, start, end.
SAMPLE_MAP: tuple[tuple[str, str, str, float, str, str], ...] = (
    ("CRS-0101", "202312345", "Enduring: Synthetic Lipid Management", 2.0, "2023-01-01", "2025-12-31"),
    ("CRS-0102", "202220017", "Legacy Course: Placeholder Pharmacology", 3.0, "2022-06-01", "2023-12-31"),
    ("CRS-0103", "202420002", "Annual Synthetic Medicine Conference 2024", 18.75, "2024-10-14", "2024-10-17"),
    ("CRS-0104", "202530003", "Webinar: Fictional Sepsis Protocols", 1.5, "2025-01-15", "2026-12-31"),
    ("CRS-0105", "", "Podcast: Made-up Rounds Episode 7", 0.75, "2026-01-01", "2027-06-30"),
    ("CRS-0106", "202640004", "Workshop: Simulated Airway Skills", 4.0, "2026-11-09", "2026-11-10"),
    ("CRS-0107", "202650006", "Enduring: Example Dermatology Cases", 0.25, "2026-01-01", "2026-12-31"),
    ("CRS-0201", "202410001", "Tumor Board Series 2024 - Session 1", 1.0, "2024-03-05", "2024-03-05"),
    ("CRS-0202", "202410001", "Tumor Board Series 2024 - Session 2", 1.0, "2024-03-12", "2024-03-12"),
)
NOT_REGISTERED = "CRS-0105"


def sample_map() -> pd.DataFrame:
    frame = pd.DataFrame(list(SAMPLE_MAP), columns=list(MAP_COLUMNS))
    frame["ACCME Activity ID"] = frame["ACCME Activity ID"].replace("", None)
    return frame


TITLES = {pid: title for pid, _, title, *_ in SAMPLE_MAP}

# --------------------------------------------------------------------------- scenario people


def _npi(first_nine: int) -> str:
    return f"{first_nine}{int(npi_check_digit(np.array([first_nine]))[0])}"


def person(
    learner_id: str,
    first: str,
    last: str,
    degree: str = "MD",
    birth: str | None = "04/17/1971",
    state: str | None = "CA",
    license_number: str | None = "A012345",
    npi: str | None = None,
) -> dict[str, str | None]:
    serial = int(re.sub(r"\D", "", learner_id))
    email = re.sub(r"[^a-z0-9.]", "", f"{first}.{last}".lower().replace(" ", ".")) + f".{learner_id.lower()}"
    return {
        "Learner ID": learner_id,
        "First Name": first,
        "Last Name": last,
        "Email": f"{email}@example.org",
        "Degree": degree,
        "Date of Birth": birth,
        "License State": state,
        "License Number": license_number,
        "NPI": npi if npi is not None else _npi(170_000_000 + serial),
    }


def claim(
    claim_id: str,
    who: dict[str, str | None],
    activity: str,
    credits: object,
    completed: str,
    claimed: str,
    **extra: object,
) -> dict[str, object]:
    row: dict[str, object] = {
        "Claim ID": claim_id,
        "Activity ID": activity,
        **who,
        "Credit Type": CATEGORY_1,
        "Credits": credits,
        "Completion Date": completed,
        "Claim Date": claimed,
        "Report Consent": "Y",
        "Claim Status": "Active",
        "Activity Title": TITLES.get(activity, "Unlisted Activity"),
    }
    row.update({k.replace("_", " "): v for k, v in extra.items()})
    return {c: row[c] for c in EXPORT_COLUMNS}


def frame(rows: Sequence[dict[str, object]]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=list(EXPORT_COLUMNS))


# --------------------------------------------------------------------------- reference classifier

_PHYSICIAN = {"MD", "DO", "MBBS"}
_STATES = {s.casefold() for s in (*STATE_CODES, *STATE_NAMES)} | {
    "gu", "guam", "vi", "virgin islands", "as", "american samoa", "mp", "northern mariana islands",
}  # fmt: skip
_HEADER_LOOKUP = {h.strip().casefold(): field for field, hs in CLAIM_HEADERS.items() for h in hs}


def read_back(path: Path, encoding: str = "utf-8") -> pd.DataFrame:
    """Read a written sample CSV as text, headers mapped to canonical field names."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding)
    raw.columns = [_HEADER_LOOKUP.get(str(c).strip().casefold(), str(c)) for c in raw.columns]
    return raw


def _blank(s: pd.Series) -> pd.Series:
    return s.fillna("").astype(str).str.strip().eq("")


def _valid_mmdd(text: pd.Series) -> pd.Series:
    """True where text is MM/DD or MM/DD/YYYY (or M/D/YYYY) naming a real month/day; 02/29 allowed."""
    parts = text.str.extract(r"^(\d{1,2})/(\d{1,2})(?:/(\d{4}))?$")
    month, day, year = (pd.to_numeric(parts[i], errors="coerce") for i in range(3))
    probe = pd.to_datetime({"year": year.fillna(2000), "month": month.fillna(0), "day": day.fillna(0)}, errors="coerce")
    return probe.notna() & month.notna()


def classify(claims: pd.DataFrame, amap: pd.DataFrame, as_of: str = AS_OF) -> pd.DataFrame:
    """Outcome and reason of every claim on a fresh ledger (canonical column names in)."""
    c = claims.fillna("").astype(str).apply(lambda s: s.str.strip())
    for field in CLAIM_HEADERS:
        if field not in c:
            c[field] = ""
    m = amap.set_index("Portal Activity ID")
    flags: dict[Reason, pd.Series] = {}
    flags[Reason.MISSING_REQUIRED_FIELD] = pd.concat([_blank(c[f]) for f in REQUIRED_CLAIM_FIELDS], axis=1).any(axis=1)
    completion = pd.to_datetime(c["completion_date"], format="%m/%d/%Y", errors="coerce")
    claimed = pd.to_datetime(c["claim_date"], format="%m/%d/%Y", errors="coerce")
    flags[Reason.INVALID_DATE] = (completion.isna() & ~_blank(c["completion_date"])) | (
        claimed.isna() & ~_blank(c["claim_date"])
    )
    credits = pd.to_numeric(c["credits"], errors="coerce")
    flags[Reason.INVALID_CREDITS] = ~_blank(c["credits"]) & ~(credits > 0)
    flags[Reason.CREDITS_NOT_QUARTER_HOUR] = (credits * 4 - (credits * 4).round()).abs() > 1e-9
    flags[Reason.EARNED_BEFORE_CUTOFF] = completion < pd.Timestamp(CUTOFF)
    flags[Reason.COMPLETED_IN_FUTURE] = completion > pd.Timestamp(as_of)
    flags[Reason.NOT_AMA_PRA_CATEGORY_1] = ~c["credit_type"].str.casefold().str.startswith("ama pra category 1")
    degree = c["degree"].str.upper().str.replace(r"[.\s]", "", regex=True)
    flags[Reason.NOT_PHYSICIAN] = ~degree.isin(_PHYSICIAN)
    flags[Reason.NO_REPORTING_CONSENT] = c["consent"].str.upper().isin({"N", "NO"})
    mapped = c["portal_activity_id"].isin(m.index)
    max_credits = pd.to_numeric(c["portal_activity_id"].map(m["Max Credits"]), errors="coerce")
    flags[Reason.CREDITS_EXCEED_ACTIVITY_MAX] = mapped & (credits > max_credits)
    start = pd.to_datetime(c["portal_activity_id"].map(m["Start Date"]))
    end = pd.to_datetime(c["portal_activity_id"].map(m["End Date"]))
    flags[Reason.COMPLETION_OUTSIDE_ACTIVITY_DATES] = mapped & ((completion < start) | (completion > end))
    flags[Reason.INVALID_NPI] = ~_blank(c["npi"]) & ~npi_is_valid(c["npi"])
    flags[Reason.INVALID_LICENSE_STATE] = ~_blank(c["license_state"]) & ~c["license_state"].str.casefold().isin(_STATES)
    flags[Reason.INVALID_BIRTH_DATE] = ~_blank(c["birth_date"]) & ~_valid_mmdd(c["birth_date"])
    flags[Reason.FORMULA_LIKE_TEXT] = pd.concat(
        [claims[f].fillna("").astype(str).str.match(r"^[=+\-@\t\r\n]") for f in FREE_TEXT_FIELDS if f in claims],
        axis=1,
    ).any(axis=1)
    # Repeats: an identical row again is a duplicate outcome; one claim id with different values
    # is a conflict (every copy).
    repeated = c.duplicated(keep="first")
    flags[Reason.CONFLICTING_DUPLICATE] = ~repeated & c[~repeated]["claim_id"].duplicated(keep=False).reindex(
        c.index, fill_value=False
    )
    accme = c["portal_activity_id"].map(m["ACCME Activity ID"])
    registered = mapped & accme.notna() & (accme.astype(str) != "")
    flags[Reason.CLAIM_REVOKED] = c["status"].str.casefold().eq("revoked")
    flags[Reason.ACTIVITY_NOT_MAPPED] = ~mapped
    flags[Reason.ACTIVITY_NOT_REGISTERED] = mapped & ~registered
    flags[Reason.LEARNER_IDENTITY_INCOMPLETE] = _blank(c["birth_date"]) | _blank(c["license_state"])
    # Across claims: what is left once every row rule has had its say.
    held = pd.DataFrame({code: f.fillna(False).astype(bool) for code, f in flags.items()})
    only_delayed = held[list(DELAY_PRECEDENCE)].any(axis=1) & ~held.drop(columns=list(DELAY_PRECEDENCE)).any(axis=1)
    series_max = pd.to_numeric(m["Max Credits"], errors="coerce").groupby(m["ACCME Activity ID"]).sum()
    taking_part = pd.DataFrame(
        {
            "claim_id": c["claim_id"],
            "learner": c["learner_id"],
            "activity": accme,
            "completion": completion,
            "claimed": claimed,
            "credits": credits,
            "maximum": accme.map(series_max),
        }
    )
    sendable = ~repeated & ~held.any(axis=1)
    duplicate_completion, cumulative = _cross_claim(
        taking_part[sendable], taking_part[~repeated & only_delayed & registered]
    )
    over_total = pd.Series(c.index.isin(list(cumulative)), index=c.index)
    flags[Reason.DUPLICATE_COMPLETION] = pd.Series(c.index.isin(list(duplicate_completion)), index=c.index)
    flags[Reason.CREDITS_EXCEED_ACTIVITY_MAX] = flags[Reason.CREDITS_EXCEED_ACTIVITY_MAX] | over_total

    outcome = pd.Series("submitted", index=c.index, dtype=object)
    reason = pd.Series(None, index=c.index, dtype=object)
    decided = repeated.copy()
    outcome[repeated] = "duplicate"
    reason[repeated] = Reason.REPEATED_IN_INPUT.value
    for code, kind in [*((r, "rejected") for r in REJECTION_PRECEDENCE), *((r, "delayed") for r in DELAY_PRECEDENCE)]:
        hit = flags[code].fillna(False).astype(bool) & ~decided
        outcome[hit] = kind
        reason[hit] = code.value
        decided |= hit
    result = pd.DataFrame({"outcome": outcome, "reason": reason})
    for code, hit in flags.items():
        result[f"flag_{code.value}"] = hit.fillna(False).astype(bool) & ~repeated
    result["over_cumulative_max"] = over_total
    return result


def _cross_claim(sendable: pd.DataFrame, delayed: pd.DataFrame) -> tuple[set[object], set[object]]:
    """Rows rejected DUPLICATE_COMPLETION and rows over the cumulative activity maximum (fresh ledger).

    Per learner and ACCME activity, the claims that would otherwise be sent, in order of completion
    date, claim date and claim id: a second claim id for the same completion date is a duplicate
    completion (the first stands, whatever becomes of it) and counts for nothing; then a claim that
    would take the learner's total past the activity's maximum (a series: the sum of its sessions'
    maxima) is refused and uses up nothing. Claims held back only by a delay are then measured
    against what is kept, as both rejections rank before every delay; they never crowd out a claim
    that can be sent now.
    """
    ordered = sendable.sort_values(["completion", "claimed", "claim_id"], kind="stable")
    repeat = ordered.duplicated(["learner", "activity", "completion"], keep="first")
    duplicate: set[object] = set(ordered.index[repeat])
    over: set[object] = set()
    days: dict[tuple[str, str], set[pd.Timestamp]] = {}
    total: dict[tuple[str, str], float] = {}
    for row in ordered[~repeat].itertuples():
        key = (row.learner, row.activity)
        if total.get(key, 0.0) + row.credits > row.maximum + 1e-9:
            over.add(row.Index)
        else:
            days.setdefault(key, set()).add(row.completion)
            total[key] = total.get(key, 0.0) + row.credits
    for row in delayed.itertuples():
        key = (row.learner, row.activity)
        if row.completion in days.get(key, set()):
            duplicate.add(row.Index)
        elif total.get(key, 0.0) + row.credits > row.maximum + 1e-9:
            over.add(row.Index)
    return duplicate, over


def summarize(result: pd.DataFrame) -> dict[str, int]:
    counts = {"input_rows": len(result)}
    counts.update({k: int(v) for k, v in result["outcome"].value_counts().items()})
    return counts


# --------------------------------------------------------------------------- biweekly export

SAMPLE_RATES = {
    "unmapped": 0.03,
    "non_physician": 0.10,
    "non_category_1": 0.03,
    "before_cutoff": 0.05,
    "identity_incomplete": 0.0,  # set on two chosen learners below
    "birth_mmdd": 0.2,
    "state_full_name": 0.12,
    "invalid_npi": 0.0,
    "missing_npi": 0.05,
    "missing_license_number": 0.05,
    "exceed_max": 0.0,
    "not_quarter": 0.0,
    "no_consent": 0.0,
    "revoked": 0.0,
    "future": 0.0,
    "outside_dates": 0.0,
}


def _canonical(export: pd.DataFrame) -> pd.DataFrame:
    return export.rename(columns=lambda h: _HEADER_LOOKUP.get(h.strip().casefold(), h))


# Claim-level scenarios set on rows that would otherwise be submitted: name -> number of rows.
BIWEEKLY_PLAN = {
    "cutoff_pair": 2,  # one completed 2023-06-30, one 2023-07-01 (CRS-0101)
    "not_registered": 6,  # on CRS-0105, no ACCME id yet
    "revoked": 2,
    "other_credit": 1,  # Participation credit claimed by a physician
    "over_max": 1,  # credits 0.5 above the activity's maximum
    "no_consent": 1,
    "unmapped": 1,  # on CRS-0999, not in the map
}
UNMAPPED = ("CRS-0999", "Unlisted Journal Club")
# Scenarios that move a claim to another activity: its learner must not have claimed that one.
RETARGETED = {"cutoff_pair": "CRS-0101", "not_registered": NOT_REGISTERED, "unmapped": UNMAPPED[0]}
# The only learners with two claims on one ACCME activity, each set on two clean claims of one
# learner: (portal id, credits, completion date) of the earlier completion, then the later.
BIWEEKLY_PAIRS: dict[str, tuple[tuple[str, float, str], tuple[str, float, str]]] = {
    # both sessions of the series: 1 + 1 fits the series' maximum (the sum of its sessions' 1 + 1)
    "series_both_sessions": (("CRS-0201", 1.0, "03/05/2024"), ("CRS-0202", 1.0, "03/12/2024")),
    # 1 + 1 on CRS-0104 (max 1.5): the later completion is rejected CREDITS_EXCEED_ACTIVITY_MAX
    "cumulative_over_max": (("CRS-0104", 1.0, "03/10/2026"), ("CRS-0104", 1.0, "09/15/2026")),
}
BIWEEKLY_LEARNERS = 175


def _activity_keys(portal_ids: pd.Series, amap: pd.DataFrame) -> pd.Series:
    """What a learner claims once: the ACCME activity (a series counts once), else the portal id."""
    accme = portal_ids.map(amap.set_index("Portal Activity ID")["ACCME Activity ID"])
    return accme.where(accme.notna() & accme.astype(str).ne(""), portal_ids).astype(str)


def _set_activity(export: pd.DataFrame, row: object, portal_id: str, credits: float, day: str) -> None:
    title = TITLES.get(portal_id, UNMAPPED[1])
    export.loc[row, ["Activity ID", "Activity Title", "Credits", "Completion Date"]] = [portal_id, title, credits, day]


def _pick_pairs(export: pd.DataFrame, clean: np.ndarray, amap: pd.DataFrame, rng: np.random.Generator) -> dict:
    """Two clean claims of one learner per entry of BIWEEKLY_PAIRS, a different learner each,
    none with another claim on the pair's ACCME activity. The claim made later (claim date, then
    claim id) gets the earlier completion, so that only ordering by completion date rejects the
    right one of the cumulative pair."""
    keys = _activity_keys(export["Activity ID"], amap)
    learners = export["Learner ID"]
    counts = learners.iloc[clean].value_counts()
    pool = list(rng.permutation(np.sort(counts[counts >= 2].index.to_numpy(dtype=str))))
    picked: dict[str, tuple[object, object]] = {}
    for name, (first, _) in BIWEEKLY_PAIRS.items():
        target = _activity_keys(pd.Series([first[0]]), amap).iloc[0]
        who = next(p for p in pool if not (keys[learners == p] == target).any())
        pool.remove(who)
        theirs = export.iloc[clean][learners.iloc[clean].eq(who).to_numpy()]
        theirs = theirs.assign(claimed_on=pd.to_datetime(theirs["Claim Date"], format="%m/%d/%Y"))
        earlier_claim, later_claim = theirs.sort_values(["claimed_on", "Claim ID"], kind="stable").index[-2:]
        picked[name] = (later_claim, earlier_claim)  # (gets the earlier completion, gets the later one)
    return picked


def _pick_claims(export: pd.DataFrame, clean: list[int], amap: pd.DataFrame) -> dict[str, list[int]]:
    """Rows for BIWEEKLY_PLAN in the (shuffled) order of `clean`; a retargeted claim's learner has
    no claim on the new activity yet, so the export keeps one claim per learner and activity."""
    claimed = set(zip(export["Learner ID"], _activity_keys(export["Activity ID"], amap), strict=True))
    chosen: dict[str, list[int]] = {name: [] for name in BIWEEKLY_PLAN}
    queue = list(clean)
    for name, count in BIWEEKLY_PLAN.items():
        target = RETARGETED.get(name)
        key = None if target is None else _activity_keys(pd.Series([target]), amap).iloc[0]
        for row in list(queue):
            if len(chosen[name]) == count:
                break
            learner = export.loc[row, "Learner ID"]
            if key is not None and (learner, key) in claimed:
                continue
            chosen[name].append(row)
            queue.remove(row)
            if key is not None:
                claimed.add((learner, key))
        assert len(chosen[name]) == count, name
    return {name: sorted(rows) for name, rows in chosen.items()}


def make_biweekly(amap: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, tuple[str, str]]]:
    """~250 claims over the sample map by ~175 learners: mostly submittable, every delay and
    rejection scenario present, one claim per learner and ACCME activity except BIWEEKLY_PAIRS.

    Returns the export and, per pair scenario, the claim ids (earlier completion, later one).
    """
    rng = np.random.default_rng(SEED)
    registered = amap[amap["ACCME Activity ID"].notna()]
    export = make_portal_export(
        BIWEEKLY_ROWS, registered, seed=SEED, as_of=AS_OF, rates=SAMPLE_RATES, claim_window_days=14,
        n_learners=BIWEEKLY_LEARNERS,
    )  # fmt: skip
    date = pd.to_datetime(export["Completion Date"], format="%m/%d/%Y")
    # The cutoff's two sides get exactly one claim each below: move chance hits off those days.
    export.loc[date == "2023-06-30", "Completion Date"] = "06/29/2023"
    export.loc[date == "2023-07-01", "Completion Date"] = "07/03/2023"

    # Learner-level: one learner without birth date, one without licensing state (every claim of
    # theirs is identity-incomplete), chosen among complete physicians with several claims.
    first = classify(_canonical(export), amap)
    per_learner = export.assign(ok=first["outcome"].eq("submitted")).groupby("Learner ID")["ok"].agg(["sum", "size"])
    candidates = per_learner[(per_learner["sum"] == per_learner["size"]) & (per_learner["size"] >= 3)]
    candidates = candidates.sort_values(["size", "sum"], kind="stable")
    no_birth, no_state = candidates.index[:2]
    export.loc[export["Learner ID"] == no_birth, "Date of Birth"] = None
    export.loc[export["Learner ID"] == no_state, "License State"] = None

    # Learner-level pairs, then claim-level scenarios, on rows that would otherwise be submitted.
    clean = np.flatnonzero(classify(_canonical(export), amap)["outcome"].eq("submitted").to_numpy())
    pairs = _pick_pairs(export, clean, amap, rng)
    for name, rows in pairs.items():
        for row, (portal_id, credits, day) in zip(rows, BIWEEKLY_PAIRS[name], strict=True):
            _set_activity(export, row, portal_id, credits, day)
    paired = {row for rows in pairs.values() for row in rows}
    shuffled = [int(export.index[i]) for i in rng.permutation(clean) if export.index[i] not in paired]
    chosen = _pick_claims(export, shuffled, amap)

    before, after = chosen["cutoff_pair"]
    _set_activity(export, before, "CRS-0101", 1.0, "06/30/2023")
    _set_activity(export, after, "CRS-0101", 1.0, "07/01/2023")
    for row in chosen["not_registered"]:
        claimed = pd.Timestamp(dt.datetime.strptime(export.loc[row, "Claim Date"], "%m/%d/%Y"))
        span = (claimed - pd.Timestamp("2026-01-01")).days
        day = pd.Timestamp("2026-01-01") + pd.Timedelta(days=int(rng.integers(0, span + 1)))
        _set_activity(export, row, NOT_REGISTERED, float(rng.choice([0.25, 0.5, 0.75])), day.strftime("%m/%d/%Y"))
    export.loc[chosen["revoked"], "Claim Status"] = "Revoked"
    export.loc[chosen["other_credit"], "Credit Type"] = "Participation"
    over = chosen["over_max"]
    max_by_id = amap.set_index("Portal Activity ID")["Max Credits"]
    export.loc[over, "Credits"] = export.loc[over, "Activity ID"].map(max_by_id) + 0.5
    export.loc[chosen["no_consent"], "Report Consent"] = "N"
    for row in chosen["unmapped"]:
        export.loc[row, ["Activity ID", "Activity Title"]] = list(UNMAPPED)
    ids = {name: (export.loc[a, "Claim ID"], export.loc[b, "Claim ID"]) for name, (a, b) in pairs.items()}
    return export, ids


# --------------------------------------------------------------------------- scenario files

P = {
    "avery": person("L900101", "Avery", "Testwell"),
    "jordan": person("L900102", "Jordan", "Mockridge", "DO", "02/29/1980", "New York", "B004321"),
    "riley": person("L900103", "Riley", "Sampleton", "M.D.", "11/03", "TX", "C100200"),
    "casey": person("L900104", "Casey", "Fixturo", "MBBS", "07/08/1965", "WA", "D000777"),
    "morgan": person("L900105", "Morgan", "Stubbins", "MD", "01/30/1988", "FL", "E123000"),
    "quinn": person("L900106", "Quinn", "Placeholt", "DO", "09/12/1979", "IL", "G555000"),
}


def cp1252_rows() -> pd.DataFrame:
    people = [
        person("L900201", "Renée", "Testwell", "MD", "03/14/1970", "CA", "A200201"),
        person("L900202", "Begoña", "Mockridge", "DO", "05/22/1982", "TX", "B200202"),
        person("L900203", "Jürgen", "Sampleton", "M.D.", "12/01/1966", "New York", "C200203"),
        person("L900204", "Zoë", "Peñafixture", "MD", "08/30", "WA", "D200204"),
        person("L900205", "Noël", "Stubbins-Müller", "MBBS", "10/10/1975", "FL", "E200205"),
        person("L900206", "Chloé", "Exampleby", "DO", "06/06/1990", "Illinois", "G200206"),
    ]
    days = ["09/02/2026", "09/15/2026", "10/01/2026", "10/20/2026", "11/03/2026", "11/16/2026"]
    return frame(
        [
            claim(f"CLM-0100{i + 1:03d}", who, "CRS-0104", 1.5, day, "11/20/2026",
                  Activity_Title="Webinar – Fictional Sepsis Protocols")
            for i, (who, day) in enumerate(zip(people, days, strict=True))
        ]
    )  # fmt: skip


CP1252_HEADERS = {
    "Claim ID": "Credit Claim ID",
    "Activity ID": "Course ID",
    "Learner ID": "User ID",
    "First Name": "Given Name",
    "Last Name": "Surname",
    "Email": "Email Address",
    "Degree": "Credentials",
    "Date of Birth": "Birthdate",
    "License State": "Licensing State",
    "License Number": "Licensing ID",
    "NPI": "NPI",
    "Credit Type": "Credit Type",
    "Credits": "Credits Claimed",
    "Completion Date": "Date Completed",
    "Claim Date": "Claimed On",
    "Report Consent": "Consent to Report",
    "Claim Status": "Status",
    "Activity Title": "Course Title",
}


def bom_rows() -> pd.DataFrame:
    people = [
        person("L900301", "Ana María", "Testwell", "MD", "01/15/1972", "OR", "A300301"),
        person("L900302", "Søren", "Mockridge", "DO", "04/04", "CO", "B300302"),
        P["avery"] | {"Learner ID": "L900303", "NPI": _npi(170_900_303)},
        person("L900304", "Ümit", "Sampleton", "MD", "07/19/1984", "Massachusetts", "C300304"),
        person("L900305", "Taylor", "Fixturo-Ōta", "M.D.", "12/31/1969", "GA", "D300305"),
    ]
    days = ["06/10/2025", "08/21/2025", "12/02/2025", "03/17/2026", "10/28/2026"]
    return frame(
        [
            claim(f"CLM-0200{i + 1:03d}", who, "CRS-0104", 1.25, day, "11/24/2026")
            for i, (who, day) in enumerate(zip(people, days, strict=True))
        ]
    )


MESSY_HEADERS = [
    "  claim id ", "ACTIVITY ID", "learner id", " First name ", "LAST NAME", "email", " Degree",
    "date of birth", "LICENSE STATE ", "license number", " npi ", "credit TYPE", " CREDITS ",
    "COMPLETION DATE", "Claim date", "report consent", " claim status", "Activity Title",
]  # fmt: skip


def messy_rows() -> pd.DataFrame:
    people = [P["avery"], P["jordan"], P["riley"], P["casey"], P["morgan"], P["quinn"]]
    days = ["02/03/2026", "03/10/2026", "05/05/2026", "07/14/2026", "09/09/2026", "11/11/2026"]
    rows = frame(
        [
            claim(f"CLM-0300{i + 1:03d}", who, "CRS-0107", 0.25, day, "11/25/2026")
            for i, (who, day) in enumerate(zip(people, days, strict=True))
        ]
    )
    rows.columns = MESSY_HEADERS
    rows["Internal Notes"] = ["imported by staff", "", "check later", "", "", "ignore me"]
    return rows


def missing_column_rows() -> pd.DataFrame:
    people = [P["avery"], P["jordan"], P["riley"], P["casey"], P["morgan"]]
    rows = frame(
        [
            claim(f"CLM-0400{i + 1:03d}", who, "CRS-0104", 1.0, "10/05/2026", "11/12/2026")
            for i, who in enumerate(people)
        ]
    )
    return rows.drop(columns=["Credits"])


# Completion date written in every common form; all mean 2024-03-05 (Tumor Board session 1, a
# single-day activity: a misread date lands outside its dates). Birth dates in several forms too.
DATE_FORMS: tuple[tuple[str, str, str, str], ...] = (
    # completion date, birth date, expected outcome, note
    ("2024-03-05", "04/17/1971", "submitted", "ISO date"),
    ("03/05/2024", "02/29", "submitted", "MM/DD/YYYY; birth MM/DD (leap day)"),
    ("3/5/2024", "1980-02-29", "submitted", "M/D/YYYY; birth as ISO full date"),
    ("2024-03-05 14:30:00", "2/9/1975", "submitted", "ISO with time; birth M/D/YYYY"),
    ("3/5/2024 2:30 PM", "12/01", "submitted", "M/D/YYYY h:mm AM/PM"),
    ("45356", "06/15/1969", "submitted", "Excel serial day number"),
    ("2024-03-05T14:30:00", "09/30/1977", "submitted", "ISO 8601 with T"),
    ("45356.6041666667", "10/10/1960", "submitted", "Excel serial with a time fraction (14:30)"),
    ("03/05/2024 14:30", "05/05/1985", "submitted", "MM/DD/YYYY HH:MM"),
    ("2024-02-30", "03/03/1973", "rejected INVALID_DATE", "no such day"),
    ("13/45/2024", "08/08/1988", "rejected INVALID_DATE", "not a date"),
    ("", "11/11/1971", "rejected MISSING_REQUIRED_FIELD", "empty completion date"),
)
FIRSTS = ["Avery", "Jordan", "Riley", "Casey", "Morgan", "Quinn", "Rowan", "Skyler", "Taylor", "Parker",
          "Emerson", "Harper"]  # fmt: skip


def date_form_rows() -> pd.DataFrame:
    rows = []
    for i, (completed, birth, _, _) in enumerate(DATE_FORMS):
        who = person(f"L9005{i + 1:02d}", FIRSTS[i], "Datewell", "MD", birth, "CA", f"A5005{i + 1:02d}")
        claimed = "2024-03-06 09:00:00" if i == 3 else "03/06/2024"
        rows.append(claim(f"CLM-0500{i + 1:03d}", who, "CRS-0201", 1.0, completed, claimed))
    return frame(rows)


def formula_rows() -> pd.DataFrame:
    def who(i: int, first: str, last: str, license_number: str = "A600100") -> dict[str, str | None]:
        return person(f"L9006{i:02d}", first, last, "MD", "04/17/1971", "CA", license_number)

    people = [
        who(1, "Avery", '=HYPERLINK("http://x","x")'),
        who(2, "+1", "Testwell"),
        who(3, "@SUM(A1)", "Mockridge"),
        who(4, "Jordan", "-2+3"),
        who(5, "Riley", "Sampleton", license_number="=1+1"),
        who(6, "Casey", "O'Testwell"),
        who(7, "Morgan", "Mockridge-Sampleton"),
        who(8, "Quinn", "Test=well"),
    ]
    return frame(
        [claim(f"CLM-0600{i + 1:03d}", p, "CRS-0104", 1.5, "10/14/2026", "11/18/2026") for i, p in enumerate(people)]
    )


def duplicate_rows() -> pd.DataFrame:
    a, j, r, c = P["avery"], P["jordan"], P["riley"], P["casey"]
    base = claim("CLM-0700001", a, "CRS-0104", 1.5, "09/01/2026", "11/20/2026")
    return frame(
        [
            base,
            dict(base),  # identical repeated row
            claim("CLM-0700002", j, "CRS-0104", 1.0, "09/02/2026", "11/20/2026"),
            claim("CLM-0700002", j, "CRS-0104", 1.5, "09/02/2026", "11/21/2026"),  # same id, other credits
            claim("CLM-0700003", r, "CRS-0101", 1.0, "05/06/2025", "11/19/2026"),
            claim("CLM-0700004", r, "CRS-0101", 1.0, "05/06/2025", "11/22/2026"),  # same learner/activity/date
            claim("CLM-0700005", c, "CRS-0104", 1.5, "09/03/2026", "11/20/2026"),
            # same activity, other date: 1 + 1 stays within CRS-0101's maximum of 2
            claim("CLM-0700006", r, "CRS-0101", 1.0, "06/07/2025", "11/22/2026"),
            claim("CLM-0700007", c, "CRS-0201", 1.0, "03/05/2024", "11/23/2026"),  # series session 1
            claim("CLM-0700008", c, "CRS-0202", 1.0, "03/12/2024", "11/23/2026"),  # series session 2
        ]
    )


TITLE_LINES = ("Synthetic CME Portal - Credit Claims Export", "Exported 11/26/2026 - synthetic data, no real person")


@contextmanager
def _published(path: Path) -> Iterator[Path]:
    """Write to a draft beside `path`, then swap it in only if the bytes changed: tests and runs
    reading the samples while they are regenerated never see a half-written file."""
    draft = path.with_name(f".{path.name}.draft")
    try:
        yield draft
        if path.exists() and path.read_bytes() == draft.read_bytes():
            draft.unlink()
        else:
            os.replace(draft, path)
    finally:
        draft.unlink(missing_ok=True)


def _deterministic_xlsx(workbook: Workbook, path: Path) -> None:
    """Save with fixed document and zip timestamps, so a re-run writes identical bytes."""
    workbook.properties.created = FIXED_TIME
    buffer = io.BytesIO()
    workbook.save(buffer)
    stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ")
    with _published(path) as draft, zipfile.ZipFile(buffer) as src, zipfile.ZipFile(draft, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>" + stamp.encode(), data)
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(entry, data)


def write_title_rows_xlsx(path: Path) -> list[tuple[str, str]]:
    """Two title lines and a blank row above the header; real dates; odd cells. Returns notes per row."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Claims"
    ws.append([TITLE_LINES[0]])
    ws.append([TITLE_LINES[1]])
    ws.append([])
    ws.append(list(EXPORT_COLUMNS))
    people = [P["avery"], P["jordan"], P["riley"], P["casey"], P["morgan"], P["quinn"],
              person("L900807", "Rowan", "Sheetwell", "DO", "03/03/1983", "NJ", "0012345"),
              person("L900808", "Skyler", "Cellsby", "MD", "12/12/1972", "AZ", "P808080")]  # fmt: skip
    # credits, completion, note, expected
    plan: list[tuple[object, dt.datetime, str, str]] = [
        (1.5, dt.datetime(2026, 6, 3), "credits as a number; NPI as text", "submitted"),
        ("1.5", dt.datetime(2026, 6, 4), "credits stored as text", "submitted"),
        ("1", dt.datetime(2026, 6, 5), "credits stored as text (integer form)", "submitted"),
        (1.25, dt.datetime(2026, 6, 8), "NPI cell stored as a number", "submitted"),
        ("=1+1", dt.datetime(2026, 6, 9), "credits is a formula with no cached value",
         "rejected MISSING_REQUIRED_FIELD (never 2)"),
        (0.75, dt.datetime(2026, 6, 10, 14, 30), "completion date cell carries a time (14:30)", "submitted"),
        (1.5, dt.datetime(2026, 6, 11), "license number text with leading zeros (0012345)", "submitted"),
        (1.0, dt.datetime(2026, 6, 12), "plain row", "submitted"),
    ]  # fmt: skip
    notes = []
    for i, (who, (credits, completed, note, expected)) in enumerate(zip(people, plan, strict=True)):
        row = claim(f"CLM-0800{i + 1:03d}", who, "CRS-0104", credits, "", "")
        ws.append([row[c] for c in EXPORT_COLUMNS])
        r = ws.max_row
        col = {c: EXPORT_COLUMNS.index(c) + 1 for c in EXPORT_COLUMNS}
        cell = ws.cell(r, col["Completion Date"], completed)
        cell.number_format = "mm/dd/yyyy" if completed.hour == 0 else "mm/dd/yyyy hh:mm"
        ws.cell(r, col["Claim Date"], dt.datetime(2026, 11, 20)).number_format = "mm/dd/yyyy"
        if note.startswith("NPI cell stored as a number"):
            ws.cell(r, col["NPI"], int(str(who["NPI"])))
        notes.append((f"row {r} ({row['Claim ID']})", f"{note} -> {expected}"))
    _deterministic_xlsx(wb, path)
    return notes


def write_map_xlsx(amap: pd.DataFrame, path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "Activity Map"
    ws.append(list(MAP_COLUMNS))
    for rec in amap.itertuples(index=False):
        portal, accme, title, max_credits, start, end = rec
        ws.append([portal, accme if isinstance(accme, str) else None, title, float(max_credits),
                   dt.datetime.fromisoformat(start), dt.datetime.fromisoformat(end)])  # fmt: skip
        ws.cell(ws.max_row, 2).number_format = "@"
        for column in (5, 6):
            ws.cell(ws.max_row, column).number_format = "yyyy-mm-dd"
    _deterministic_xlsx(wb, path)


MAP_PROBLEMS: tuple[tuple[str, str, str, str, str, str, str], ...] = (
    ("CRS-0101", "202312345", "Enduring: Synthetic Lipid Management", "2.00", "2023-01-01", "2025-12-31",
     "fine on its own, but see the next row"),
    ("CRS-0101", "202399999", "Enduring: Synthetic Lipid Management (copy)", "2.00", "2023-01-01", "2025-12-31",
     "duplicate portal id with a different ACCME id"),
    ("CRS-0301", "2023-ABC", "Webinar: Hyphenated Id", "1.00", "2024-01-01", "2024-12-31",
     "ACCME id is not digits"),
    ("CRS-0302", "202430010", "Workshop: Backwards Dates", "3.00", "2024-05-01", "2024-04-01",
     "end date before start date"),
    ("CRS-0303", "202430011", "Case Review: Zero Credit", "0", "2024-06-01", "2024-06-01",
     "max credits 0"),
    ("CRS-0304", "202430012", "Case Review: Negative Credit", "-1", "2024-06-02", "2024-06-02",
     "max credits -1"),
    ("CRS-0305", "202430013", "Grand Rounds: Nothing Wrong Here", "1.00", "2024-06-03", "2024-06-03",
     "a valid row"),
)  # fmt: skip


# --------------------------------------------------------------------------- README


def _mmdd(birth: str) -> str:
    """MM/DD of a birth date written as MM/DD, M/D/YYYY or YYYY-MM-DD."""
    iso = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", birth)
    month, day = (iso.group(2), iso.group(3)) if iso else birth.split("/")[:2]
    return f"{int(month):02d}/{int(day):02d}"


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _outcome_text(counts: dict[str, int]) -> str:
    order = ["submitted", "delayed", "rejected", "duplicate"]
    return ", ".join(f"{counts[k]} {k}" for k in order if counts.get(k))


def _reasons_text(result: pd.DataFrame) -> str:
    held = result[result["reason"].notna()]
    if held.empty:
        return "none"
    counts = held.groupby(["outcome", "reason"]).size()
    return ", ".join(f"{reason} {n}" for (_, reason), n in counts.items())


def expected_by_claim(xlsx_notes: list[tuple[str, str]]) -> dict[str, dict[str, Verdict]]:
    """Hand-stated verdicts of the files the reference classifier does not read, by claim id."""

    def verdict(text: str) -> Verdict:
        words = text.split()
        return words[0], words[1] if len(words) > 1 and words[1].isupper() else None

    date_forms = {f"CLM-0500{i + 1:03d}": verdict(e) for i, (_, _, e, _) in enumerate(DATE_FORMS)}
    title_rows = {
        re.search(r"\((CLM-\d+)\)", row).group(1): verdict(note.split("-> ")[-1])  # type: ignore[union-attr]
        for row, note in xlsx_notes
    }
    return {"portal_export_date_forms.csv": date_forms, "portal_export_title_rows.xlsx": title_rows}


def _pair_checks(
    bw: pd.DataFrame, raw: pd.DataFrame, amap: pd.DataFrame, pair_ids: dict[str, tuple[str, str]]
) -> dict[str, bool]:
    """One claim per learner and ACCME activity except the pair scenarios, which come out as meant."""
    keys = pd.DataFrame({"learner": raw["learner_id"], "activity": _activity_keys(raw["portal_activity_id"], amap)})
    repeats = keys[keys.duplicated(keep=False)]
    paired = {i for ids in pair_ids.values() for i in ids}
    reasons = bw["reason"].astype(object).where(bw["reason"].notna(), None)
    verdict = dict(zip(raw["claim_id"], zip(bw["outcome"], reasons, strict=True), strict=True))
    series_first, series_second = pair_ids["series_both_sessions"]
    earlier, later = pair_ids["cumulative_over_max"]
    return {
        "repeats only in the pair scenarios": set(raw.loc[repeats.index, "claim_id"]) == paired,
        "both series sessions submitted": verdict[series_first] == verdict[series_second] == ("submitted", None),
        "cumulative pair: earlier submitted": verdict[earlier] == ("submitted", None),
        "cumulative pair: later over the max": verdict[later] == ("rejected", "CREDITS_EXCEED_ACTIVITY_MAX"),
        "exactly one claim over the cumulative max": int(bw["over_cumulative_max"].sum()) == 1,
    }


def _pairs_text(raw: pd.DataFrame, result: pd.DataFrame, pair_ids: dict[str, tuple[str, str]]) -> str:
    """The pair scenarios as README bullets, from the file as read back."""
    rows = raw.assign(outcome=result["outcome"], reason=result["reason"]).set_index("claim_id")

    def said(claim_id: str) -> str:
        r = rows.loc[claim_id]
        verdict = r["outcome"] + (f" `{r['reason']}`" if isinstance(r["reason"], str) else "")
        return (
            f"`{claim_id}` ({r['portal_activity_id']}, completed {r['completion_date']}, claimed {r['claim_date']}, "
            f"{float(r['credits']):g} credit): {verdict}"
        )

    series, cumulative = pair_ids["series_both_sessions"], pair_ids["cumulative_over_max"]
    learner = rows.loc[series[0], "learner_id"]
    other = rows.loc[cumulative[0], "learner_id"]
    return "\n".join(
        [
            f"- both sessions of the series (`{learner}`): {said(series[0])}; {said(series[1])}. Together 2 credits,"
            " within the series' ACCME maximum, the sum of its sessions' 1 + 1 (the session's own maximum"
            " alone would reject the second).",
            f"- cumulative over the maximum (`{other}`, on `CRS-0104`, max 1.5): {said(cumulative[0])}; "
            f"{said(cumulative[1])}. Together 2 credits: the later completion is rejected, although it was claimed"
            " earlier and has the smaller claim id (ordering by file or claim id would reject the other one).",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the sample files and their README.")
    parser.add_argument("--strict", action="store_true", help="exit 1 when the pipeline disagrees with the reference")
    strict = parser.parse_args(argv).strict
    amap = sample_map()
    out: dict[str, Path] = {}

    def save(name: str, data: pd.DataFrame, encoding: str = "utf-8") -> Path:
        path = HERE / name
        with _published(path) as draft:
            if encoding == "utf-8":
                write_csv(data, draft)
            else:
                data.to_csv(draft, index=False, encoding=encoding, lineterminator="\n")
        out[name] = path
        return path

    save("activity_map.csv", amap)
    biweekly, pair_ids = make_biweekly(amap)
    save("portal_export_biweekly.csv", biweekly)
    save("portal_export_cp1252.csv", cp1252_rows().rename(columns=CP1252_HEADERS), "cp1252")
    save("portal_export_utf8_bom.csv", bom_rows(), "utf-8-sig")
    save("portal_export_messy_headers.csv", messy_rows())
    save("portal_export_missing_required_column.csv", missing_column_rows())
    save("portal_export_date_forms.csv", date_form_rows())
    save("portal_export_formula_names.csv", formula_rows())
    save("portal_export_duplicates.csv", duplicate_rows())
    xlsx_notes = write_title_rows_xlsx(HERE / "portal_export_title_rows.xlsx")
    write_map_xlsx(amap, HERE / "activity_map.xlsx")
    problems = pd.DataFrame([p[:6] for p in MAP_PROBLEMS], columns=list(MAP_COLUMNS))
    save("activity_map_problems.csv", problems)

    # ---- expected outcomes, computed from the files as read back
    read_map = pd.read_csv(HERE / "activity_map.csv", dtype=str, keep_default_na=False)
    read_map["ACCME Activity ID"] = read_map["ACCME Activity ID"].replace("", None)
    results = {
        "portal_export_biweekly.csv": classify(read_back(HERE / "portal_export_biweekly.csv"), read_map),
        "portal_export_cp1252.csv": classify(read_back(HERE / "portal_export_cp1252.csv", "cp1252"), read_map),
        "portal_export_utf8_bom.csv": classify(read_back(HERE / "portal_export_utf8_bom.csv", "utf-8-sig"), read_map),
        "portal_export_messy_headers.csv": classify(read_back(HERE / "portal_export_messy_headers.csv"), read_map),
        "portal_export_formula_names.csv": classify(read_back(HERE / "portal_export_formula_names.csv"), read_map),
        "portal_export_duplicates.csv": classify(read_back(HERE / "portal_export_duplicates.csv"), read_map),
    }
    intended = {
        "portal_export_cp1252.csv": {"input_rows": 6, "submitted": 6},
        "portal_export_utf8_bom.csv": {"input_rows": 5, "submitted": 5},
        "portal_export_messy_headers.csv": {"input_rows": 6, "submitted": 6},
        "portal_export_formula_names.csv": {"input_rows": 8, "submitted": 3, "rejected": 5},
        "portal_export_duplicates.csv": {"input_rows": 10, "submitted": 6, "rejected": 3, "duplicate": 1},
    }
    for name, want in intended.items():
        got = summarize(results[name])
        assert got == want, (name, got, want)

    bw = results["portal_export_biweekly.csv"]
    bw_raw = read_back(HERE / "portal_export_biweekly.csv")
    completion = pd.to_datetime(bw_raw["completion_date"], format="%m/%d/%Y")
    checks = {
        "at least 240 rows": len(bw) >= 240,
        "exactly one on 2023-06-30": int((completion == "2023-06-30").sum()) == 1,
        "exactly one on 2023-07-01": int((completion == "2023-07-01").sum()) == 1,
        "nothing after as-of": bool((completion <= AS_OF).all()),
        "at least 60% submittable": (bw["outcome"] == "submitted").mean() >= 0.6,
        "claim ids unique": bw_raw["claim_id"].is_unique,
        "no repeated learner/activity/date": not bool(bw["flag_DUPLICATE_COMPLETION"].any()),
        **_pair_checks(bw, bw_raw, read_map, pair_ids),
    }
    for code in ("ACTIVITY_NOT_MAPPED", "ACTIVITY_NOT_REGISTERED", "LEARNER_IDENTITY_INCOMPLETE",
                 "EARNED_BEFORE_CUTOFF", "NOT_PHYSICIAN", "NOT_AMA_PRA_CATEGORY_1", "CLAIM_REVOKED"):  # fmt: skip
        checks[f"has {code}"] = bool((bw["reason"] == code).any())
    failed = [k for k, ok in checks.items() if not ok]
    assert not failed, failed
    outcome_counts = summarize(bw)
    reason_counts = bw.groupby(["outcome", "reason"]).size()
    flag_counts = {c.removeprefix("flag_"): int(bw[c].sum()) for c in bw.columns if c.startswith("flag_")}
    degrees = bw_raw["degree"].value_counts().to_dict()
    learners = bw_raw["learner_id"].nunique()
    unmapped = sorted(set(bw_raw["portal_activity_id"]) - set(read_map["Portal Activity ID"]))

    print("portal_export_biweekly.csv expected outcomes (fresh ledger, as of", AS_OF + "):")
    for key, n in outcome_counts.items():
        print(f"  {key:<12} {n}")
    print("  by reason:")
    for (outcome, reason), n in reason_counts.items():
        print(f"    {outcome:<9} {reason:<30} {n}")
    print("  claims carrying each defect (before precedence):")
    for code, n in flag_counts.items():
        if n:
            print(f"    {code:<34} {n}")
    for name, result in results.items():
        if name != "portal_export_biweekly.csv":
            print(f"{name}: {_outcome_text(summarize(result))} ({_reasons_text(result)})")

    write_readme(
        amap,
        outcome_counts,
        reason_counts,
        flag_counts,
        degrees,
        learners,
        unmapped,
        results,
        xlsx_notes,
        _pairs_text(bw_raw, bw, pair_ids),
    )
    print("wrote", ", ".join(sorted([*out, "portal_export_title_rows.xlsx", "activity_map.xlsx", "README.md"])))

    # The real pipeline on the same files: disagreements are printed, never hidden.
    disagreements = cross_check(HERE, results, expected_by_claim(xlsx_notes), as_of=AS_OF, cutoff=CUTOFF)
    if disagreements and strict:
        raise SystemExit(f"{disagreements} claim(s) judged differently by the pipeline (see above)")


def write_readme(
    amap: pd.DataFrame,
    outcome_counts: dict[str, int],
    reason_counts: pd.Series,
    flag_counts: dict[str, int],
    degrees: dict[str, int],
    learners: int,
    unmapped: list[str],
    results: dict[str, pd.DataFrame],
    xlsx_notes: list[tuple[str, str]],
    pairs_text: str,
) -> None:
    def outcome(name: str) -> str:
        result = results[name]
        return f"{len(result)} rows: {_outcome_text(summarize(result))}; reasons: {_reasons_text(result)}"

    date_rows = _table(
        ["line", "Completion Date", "Date of Birth", "expected", "form"],
        [(i + 2, f"`{d}`" if d else "(empty)", f"`{b}`", e, n) for i, (d, b, e, n) in enumerate(DATE_FORMS)],
    )
    n_ok = sum(1 for *_, e, _ in DATE_FORMS if e == "submitted")
    map_rows = _table(
        ["line", "Portal Activity ID", "ACCME Activity ID", "Max Credits", "Start", "End", "problem"],
        [(i + 2, p[0], f"`{p[1]}`", p[3], p[4], p[5], p[6]) for i, p in enumerate(MAP_PROBLEMS)],
    )
    map_table = _table(
        list(MAP_COLUMNS),
        [[v if isinstance(v, str) else ("(empty: not registered)" if v is None else v) for v in r]
         for r in amap.astype(object).where(amap.notna(), None).itertuples(index=False)],
    )  # fmt: skip
    total = outcome_counts["input_rows"]
    out_cp1252 = outcome("portal_export_cp1252.csv")
    out_utf8_bom = outcome("portal_export_utf8_bom.csv")
    out_messy_headers = outcome("portal_export_messy_headers.csv")
    out_formula_names = outcome("portal_export_formula_names.csv")
    out_duplicates = outcome("portal_export_duplicates.csv")
    outcome_table = _table(
        ["outcome", "claims"],
        [(k, v) for k, v in outcome_counts.items() if k != "input_rows"] + [("**input rows**", total)],
    )
    reason_table = _table(["outcome", "reason", "claims"], [(o, r, n) for (o, r), n in reason_counts.items()])
    flag_table = _table(["defect", "claims"], [(k, v) for k, v in flag_counts.items() if v])
    xlsx_table = _table(["sheet row", "what it tests -> expected"], xlsx_notes)
    degree_text = ", ".join(f"{k} {v}" for k, v in degrees.items())
    unmapped_text = ", ".join(f"`{u}`" for u in unmapped)
    plan_text = ", ".join(f"{k} {v}" for k, v in BIWEEKLY_PLAN.items())
    birth_text = ", ".join(f"`{_mmdd(b)}`" for _, b, _, _ in DATE_FORMS)

    text = f"""# Sample inputs

Synthetic files for trying and testing `cme-relay`, each named for its scenario. **No real
person**: given names from a short list, invented surnames (Testwell, Mockridge, Sampleton, ...),
e-mail at `example.org`; NPIs are random numbers with a correct check digit. Everything here is
written by `make_samples.py` (deterministic; re-running rewrites identical files):

    .venv/bin/python data/samples/make_samples.py

Expected outcomes below assume a **fresh ledger**, run date (`--as-of`) **{AS_OF}**, cutoff
{CUTOFF}, and `activity_map.csv` as the map. Counts marked *computed* come from a small
reference classifier in `make_samples.py` that applies the rules of DESIGN.md/PARS.md in the
precedence of `schemas/reasons.py` to the files as read back; they are not hand-typed. It
includes the rules across claims: per learner and ACCME activity, the claims that would otherwise
be sent, in order of completion date, claim date and claim id, lose a second claim id for the
same completion date (`DUPLICATE_COMPLETION`; the first stands) and any claim that would take the
learner's total past the activity's maximum (`CREDITS_EXCEED_ACTIVITY_MAX`; a series' maximum is
the sum of its sessions' `Max Credits`). After writing the files, `make_samples.py` runs the
pipeline itself (`extract` + `transform.judge.judge_run`, fresh ledger) on every export sample
with expected outcomes and prints its verdicts beside these, claim by claim; `--strict` makes a
disagreement exit 1.

## Activity map: `activity_map.csv` (used by every sample), `activity_map.xlsx`

{map_table}

- `CRS-0105` has no ACCME id yet: its claims are delayed `ACTIVITY_NOT_REGISTERED`.
- `CRS-0201` and `CRS-0202` are two sessions of one series, both mapped to ACCME `202410001`.
- Portal ids used in the biweekly export but absent here ({unmapped_text}) are delayed
  `ACTIVITY_NOT_MAPPED`.
- `activity_map.xlsx` is the same map as a workbook (ACCME ids as text cells, dates as real date
  cells, max credits as numbers); reading it must give the same map as the CSV.

## `portal_export_biweekly.csv`: a biweekly export ({total} claims, {learners} learners)

Built with `bench.synthetic.make_portal_export` over the registered activities ({BIWEEKLY_LEARNERS} learners, each
claiming at least once; claims claimed in the 14 days before {AS_OF}). As in a real biweekly
export, a learner claims an ACCME activity at most once, except in the two pairs below. Then
scenarios set on chosen rows: one learner without birth date and one without licensing state (all
their claims), and, on rows that would otherwise be submitted: {plan_text} (`cutoff_pair` =
exactly one claim completed 2023-06-30, rejected, and one 2023-07-01, submitted, on `CRS-0101`;
`not_registered` on `CRS-0105`; `unmapped` on `CRS-0999`; `over_max` = one claim above its own
activity's `Max Credits`; a moved claim's learner never claimed the new activity before).
Two learners get two claims each on one ACCME activity:

{pairs_text}

Degrees: {degree_text}.

Expected outcomes (*computed*):

{outcome_table}

By reason (*computed*; one reason per claim, first in precedence):

{reason_table}

Claims carrying each defect before precedence (*computed*; a claim can carry several, e.g. a
non-physician's `ANCC Contact Hours` claim is reported as `NOT_AMA_PRA_CATEGORY_1`; the rules
across claims count only claims that would otherwise be sent or are only delayed, so
`CREDITS_EXCEED_ACTIVITY_MAX` here is `over_max` plus the cumulative pair's later claim):

{flag_table}

A second run on the same export and ledger should submit nothing new: the submitted claims are
`unchanged`, the delayed ones stay delayed.

## Scenario files (small)

| file | scenario | a run should |
|---|---|---|
| `portal_export_cp1252.csv` | Windows-1252 bytes (é ñ ü ë, `™` as byte 0x99, an en dash in the title); variant headers `Credit Claim ID, Course ID, User ID, Given Name, Surname, Email Address, Credentials, Birthdate, Licensing State, Licensing ID, Credits Claimed, Date Completed, Claimed On, Consent to Report, Status, Course Title` | read the names intact and submit all. *Computed:* {out_cp1252}. Decoding as Latin-1 instead of cp1252 turns `™` into U+0099 and the credit type stops matching. |
| `portal_export_utf8_bom.csv` | UTF-8 with a byte-order mark before `Claim ID`; names with á ø Ü Ō | read `Claim ID` as a header (not `\\ufeffClaim ID`) and submit all. *Computed:* {out_utf8_bom}. |
| `portal_export_messy_headers.csv` | headers in odd case with surrounding spaces (`"  claim id "`, `COMPLETION DATE`, `" npi "`, ...) and an extra `Internal Notes` column | match every header, ignore the extra column, submit all. *Computed:* {out_messy_headers}. |
| `portal_export_missing_required_column.csv` | no `Credits` column (5 rows) | fail the run (exit 1) with a message naming the file and the missing `credits` column (accepted spellings `Credits, Credit Amount, Credits Claimed, Hours`); load nothing. |
| `portal_export_date_forms.csv` | one completion date (2024-03-05, on the single-day `CRS-0201`) written in every common form, birth dates in several forms | {len(DATE_FORMS)} rows: {n_ok} submitted with completion date `03/05/2024` (no time part), 2 rejected `INVALID_DATE`, 1 rejected `MISSING_REQUIRED_FIELD`; see the table below. A misread date (e.g. day/month swapped) shows up as `COMPLETION_OUTSIDE_ACTIVITY_DATES`. |
| `portal_export_formula_names.csv` | free text a spreadsheet would run: last name `=HYPERLINK("http://x","x")`, first names `+1` and `@SUM(A1)`, last name `-2+3`, license number `=1+1`; and harmless `O'Testwell`, `Mockridge-Sampleton`, `Test=well` | reject the five with `FORMULA_LIKE_TEXT` (never write them to the registry file), submit the other three. *Computed:* {out_formula_names}. |
| `portal_export_duplicates.csv` | an identical row twice (`CLM-0700001`); one claim id with different credits (`CLM-0700002`); two claim ids for one learner, activity and completion date (`CLM-0700003`/`CLM-0700004`); plus the same learner and activity on another date (`CLM-0700006`; 1 + 1 credit, within `CRS-0101`'s maximum of 2) and two sessions of the series (`CLM-0700007`/`CLM-0700008`; 1 + 1, within the series' maximum, the sum of its sessions' 1 + 1): not duplicates, not over the maximum | the repeat is `duplicate` (`REPEATED_IN_INPUT`), both copies of `CLM-0700002` rejected `CONFLICTING_DUPLICATE`, `CLM-0700004` rejected `DUPLICATE_COMPLETION`, the rest submitted. *Computed:* {out_duplicates}. |
| `portal_export_title_rows.xlsx` | sheet `Claims`: two title lines and a blank row above the header (header on sheet row 4), real Excel date cells, credits stored as text in some rows, an NPI stored as a number, a formula `=1+1` with no cached value in Credits | find the header on row 4, read dates and text numbers, keep the NPI as the 10-digit text (not `1.23e9`/`...0`), report sheet row numbers as line numbers. 8 rows: 7 submitted, 1 rejected (see below). |
| `activity_map_problems.csv` | a broken map | `check-mappings` lists every problem below with its line; a run given this map must not use the broken rows silently. |

### `portal_export_date_forms.csv`

{date_rows}

Claim dates are `03/06/2024` except line 5 (`2024-03-06 09:00:00`). Birth dates sent (`MM/DD`),
line by line: {birth_text}.

### `portal_export_title_rows.xlsx`

{xlsx_table}

(An XLSX reader returns the formula cell empty, as no value was cached: `MISSING_REQUIRED_FIELD`;
a reader that returns the formula text would give `INVALID_CREDITS`. Either way it is never 2.)

### `activity_map_problems.csv`

{map_rows}
"""
    with _published(HERE / "README.md") as draft:
        draft.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
