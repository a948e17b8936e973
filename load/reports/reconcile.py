"""The numbers that must agree, per run and per ACCME activity, shown holding (or not) in the report."""

from __future__ import annotations

import pandas as pd

from schemas.reasons import OUTCOMES

NO_ACTIVITY = "(none: not mapped or not registered)"
HELD_BACK = ("delayed", "rejected")


def _holds(expected: int, found: int) -> str:
    return "yes" if expected == found else "NO"


def _sum(frame: pd.DataFrame, column: str, mask: pd.Series) -> int:
    return int(frame.loc[mask, column].sum())


def checks(
    counts: dict[str, int], groups: pd.DataFrame, batches: pd.DataFrame, sent: pd.DataFrame, *, failed_early: bool
) -> pd.DataFrame:
    """The run's invariants: expected (from the claims' outcomes) against found (in the files and ledger)."""
    outcome = groups["outcome"]
    rows = [
        (
            "input rows = sum of the outcomes of this run's input rows",
            counts["input_rows"],
            sum(counts[o] for o in OUTCOMES),
        ),
        (
            "Add rows in the registry files = submitted + corrected claims (carried-over ones included)",
            _sum(groups, "claims", outcome.isin(["submitted", "corrected"])),
            _sum(sent, "rows", sent["action"] == "Add"),
        ),
        (
            "Delete rows in the registry files = corrected + revoked claims",
            _sum(groups, "claims", outcome.isin(["corrected", "revoked"])),
            _sum(sent, "rows", sent["action"] == "Delete"),
        ),
        (
            "rows recorded as sent = rows counted in the run's batches",
            int(batches["rows"].sum()),
            int(sent["rows"].sum()),
        ),
        (
            "every delayed, rejected or duplicate claim carries a reason code",
            _sum(groups, "claims", outcome.isin([*HELD_BACK, "duplicate"])),
            _sum(groups, "claims", outcome.isin([*HELD_BACK, "duplicate"]) & (groups["reason"] != "")),
        ),
    ]
    frame = pd.DataFrame(rows, columns=["check", "expected", "found"])
    frame["holds"] = [_holds(e, f) for e, f in zip(frame["expected"], frame["found"], strict=True)]
    if failed_early:
        frame["holds"] = "not applicable: the run failed before its load committed"
    return frame


def reconciliation(groups: pd.DataFrame, sent: pd.DataFrame) -> pd.DataFrame:
    """Per ACCME activity: claims in, what became of them, what the registry files hold; a total row last."""
    claims = groups.assign(activity=groups["accme_activity_id"].replace("", NO_ACTIVITY))
    by_outcome = claims.pivot_table(index="activity", columns="outcome", values="claims", aggfunc="sum", fill_value=0)
    by_outcome = by_outcome.reindex(columns=list(OUTCOMES), fill_value=0)
    origin = claims.pivot_table(index="activity", columns="carried", values="claims", aggfunc="sum", fill_value=0)
    files = sent.assign(activity=sent["accme_activity_id"].fillna("").replace("", NO_ACTIVITY))
    rows = files.pivot_table(index="activity", columns="action", values="rows", aggfunc="sum", fill_value=0)
    credits = files.pivot_table(index="activity", columns="action", values="credits", aggfunc="sum", fill_value=0.0)
    index = by_outcome.index.union(rows.index).sort_values()
    table = pd.DataFrame(index=index)
    table["claims in"] = origin.get(False, pd.Series(dtype="int64")).reindex(index, fill_value=0)
    table["waiting from earlier runs"] = origin.get(True, pd.Series(dtype="int64")).reindex(index, fill_value=0)
    table = table.join(by_outcome.reindex(index, fill_value=0))
    table["held back"] = table[list(HELD_BACK)].sum(axis=1)
    table["rows added"] = rows.get("Add", pd.Series(dtype="int64")).reindex(index, fill_value=0)
    table["rows deleted"] = rows.get("Delete", pd.Series(dtype="int64")).reindex(index, fill_value=0)
    table["credits sent"] = credits.get("Add", pd.Series(dtype="float64")).reindex(index, fill_value=0.0)
    table["credits withdrawn"] = credits.get("Delete", pd.Series(dtype="float64")).reindex(index, fill_value=0.0)
    table = table.fillna(0)
    total = table.sum(numeric_only=True).to_frame("all activities").T
    table = pd.concat([table, total])
    ints = [c for c in table.columns if not c.startswith("credits")]
    table[ints] = table[ints].astype("int64")
    table[["credits sent", "credits withdrawn"]] = table[["credits sent", "credits withdrawn"]].round(2)
    balanced = (table["claims in"] + table["waiting from earlier runs"] == table[list(OUTCOMES)].sum(axis=1)) & (
        table["rows added"] == table["submitted"] + table["corrected"]
    )
    table["balances"] = balanced.map({True: "yes", False: "NO"})
    return table.rename_axis("ACCME activity id").reset_index()
