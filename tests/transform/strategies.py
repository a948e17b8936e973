"""Hypothesis strategies: runs of portal claims, mostly valid, some broken, some repeated."""

from __future__ import annotations

import pandas as pd
from hypothesis import strategies as st

from schemas.portal_claim import CLAIM_FIELDS

MAP = pd.DataFrame(
    {
        "portal_activity_id": ["ACT-1", "ACT-2", "ACT-NOID", "S1", "S2"],
        "accme_activity_id": pd.Series(["202312345", "202412346", None, "202600009", "202600009"], dtype="string"),
        "max_credits_value": [10.0, 2.0, 5.0, 1.0, 1.0],
        "start": pd.to_datetime(["2023-01-01", "2024-01-01", "2023-01-01", "2026-01-01", "2026-02-01"]),
        "end": pd.to_datetime(["2027-12-31", "2027-12-31", "2027-12-31", "2026-01-31", "2026-02-28"]),
    }
).astype({"portal_activity_id": "string", "start": "datetime64[ns]", "end": "datetime64[ns]"})

VALID = {
    "portal_activity_id": "ACT-1",
    "first_name": "Avery",
    "last_name": "Testwell",
    "email": "avery@example.org",
    "degree": "MD",
    "birth_date": "04/12/1980",
    "license_state": "CA",
    "license_number": "A12345",
    "npi": "1234567893",
    "credit_type": "AMA PRA Category 1 Credit™",
    "credits": "1",
    "completion_date": "2026-10-01",
    "claim_date": "2026-10-02",
    "consent": "Y",
    "status": "Active",
}
# Each field's alternatives: valid variants first, then broken ones.
VARIANTS: dict[str, list[object]] = {
    "portal_activity_id": ["ACT-1", "ACT-2", "S1", "S2", "ACT-NOID", "ACT-UNKNOWN", None],
    "first_name": ["Avery", "Renée", "=1+1", "+1", None],
    "last_name": ["Testwell", "O'Testwell", "@SUM(A1)", "-2"],
    "degree": ["MD", "D.O.", "MBBS", "MD, PhD", None, "RN", "PA-C"],
    "birth_date": ["04/12/1980", "02/29", "12/01", None, "02/30", "13/13"],
    "license_state": ["CA", "New York", "dc", None, "XX"],
    "license_number": ["A12345", "0012345", None, "=A1"],
    "npi": ["1234567893", "1709001014", None, "1234567890", "12345"],
    "credit_type": ["AMA PRA Category 1 Credit™", "ama pra category 1 credits", "ANCC Contact Hours", None],
    "credits": ["1", "0.25", "0.5", "1.5", "2", "2.25", "10.5", "0", "-1", "abc", "1.1", None],
    "completion_date": [
        "2026-10-01",
        "2026-01-15",
        "2026-02-10",
        "2023-07-01",
        "2026-11-26",
        "3/5/2024 2:30 PM",
        "45356",
        "2023-06-30",
        "2026-11-27",
        "2024-02-30",
        None,
    ],
    "claim_date": ["2026-10-02", "10/02/2026", "not a date", None],
    "consent": ["Y", "Yes", "True", None, "N", "maybe"],
    "status": ["Active", None, "Revoked"],
}


@st.composite
def claim_rows(draw: st.DrawFn) -> dict:
    row = dict(VALID)
    row["claim_id"] = draw(st.sampled_from([f"C{i}" for i in range(12)]))
    row["learner_id"] = draw(st.sampled_from(["L1", "L2", "L3", "L4"]))
    for field in draw(st.sets(st.sampled_from(sorted(VARIANTS)), max_size=4)):
        row[field] = draw(st.sampled_from(VARIANTS[field]))
    row["file_order"] = draw(st.sampled_from([0, 0, 0, 1]))
    return row


@st.composite
def raw_runs(draw: st.DrawFn) -> pd.DataFrame:
    """`raw_claims` as `extract` gives them: text columns, source file and line, file order."""
    rows = draw(st.lists(claim_rows(), min_size=1, max_size=25))
    # Some rows repeated exactly (within the same file).
    repeats = draw(st.lists(st.integers(0, len(rows) - 1), max_size=3))
    rows = rows + [dict(rows[i]) for i in repeats]
    frame = pd.DataFrame(rows).sort_values("file_order", kind="stable").reset_index(drop=True)
    out = pd.DataFrame({f: frame[f].astype("string") if f in frame else pd.NA for f in CLAIM_FIELDS}).astype("string")
    out["source_file"] = frame["file_order"].map({0: "a.csv", 1: "b.csv"})
    out["source_line"] = (out.groupby("source_file").cumcount() + 2).astype("int64")
    out["file_order"] = frame["file_order"].astype("int64")
    return out


@st.composite
def sent_views(draw: st.DrawFn) -> list[dict]:
    """Earlier sends (live or deleted) for the same few learners and activities."""
    count = draw(st.integers(0, 3))
    return [
        {
            "claim_id": f"OLD{i}",
            "learner_id": draw(st.sampled_from(["L1", "L2"])),
            "accme_activity_id": draw(st.sampled_from(["202412346", "202600009"])),
            "completion": draw(st.sampled_from(["2026-10-01", "2026-01-15"])),
            "credits": draw(st.sampled_from([0.5, 1.0])),
            "live": draw(st.booleans()),
        }
        for i in range(count)
    ]
