"""The activity map: judged for problems, then joined onto claims (portal id -> ACCME id)."""

from __future__ import annotations

import pandas as pd

from schemas.reasons import Reason
from transform.parse import digits_only_id, parse_credits, parse_dates

MAP_PROBLEMS = {
    "DUPLICATE_PORTAL_ID": "the portal activity id appears more than once",
    "NON_DIGIT_ACCME_ID": "the ACCME activity id must contain digits only",
    "END_BEFORE_START": "the end date is before the start date",
    "NON_POSITIVE_MAX_CREDITS": "the maximum credits must be a positive number",
    "INVALID_MAP_DATE": "a start or end date is not a date",
}


def parse_activity_map(raw_map: pd.DataFrame) -> pd.DataFrame:
    """Typed map columns beside the raw ones (a new frame)."""
    typed = raw_map.copy()
    typed["accme_activity_id"] = digits_only_id(raw_map["accme_activity_id"])
    typed["max_credits_value"] = parse_credits(raw_map["max_credits"])
    typed["start"] = parse_dates(raw_map["start_date"])
    typed["end"] = parse_dates(raw_map["end_date"])
    return typed


def activity_map_problems(raw_map: pd.DataFrame) -> pd.DataFrame:
    """Every problem in a map: `source_file`, `source_line`, `portal_activity_id`, `problem`, `detail`."""
    typed = parse_activity_map(raw_map)
    accme = typed["accme_activity_id"]
    checks = {
        "DUPLICATE_PORTAL_ID": typed["portal_activity_id"].notna() & typed["portal_activity_id"].duplicated(keep=False),
        "NON_DIGIT_ACCME_ID": accme.notna() & ~accme.str.fullmatch(r"\d+").fillna(False),
        "END_BEFORE_START": (typed["end"] < typed["start"]).fillna(False),
        "NON_POSITIVE_MAX_CREDITS": raw_map["max_credits"].notna() & ~(typed["max_credits_value"] > 0).fillna(False),
        "INVALID_MAP_DATE": (raw_map["start_date"].notna() & typed["start"].isna())
        | (raw_map["end_date"].notna() & typed["end"].isna()),
    }
    found = [
        typed.loc[mask, ["source_file", "source_line", "portal_activity_id"]].assign(
            problem=code, detail=MAP_PROBLEMS[code]
        )
        for code, mask in checks.items()
        if mask.any()
    ]
    if not found:
        return pd.DataFrame(columns=["source_file", "source_line", "portal_activity_id", "problem", "detail"])
    return pd.concat(found).sort_values(["source_line", "problem"]).reset_index(drop=True)


def usable_activity_map(raw_map: pd.DataFrame) -> pd.DataFrame:
    """One row per portal id: the first occurrence wins; a malformed ACCME id counts as not registered."""
    typed = parse_activity_map(raw_map)
    typed = typed[typed["portal_activity_id"].notna()].drop_duplicates("portal_activity_id", keep="first")
    accme = typed["accme_activity_id"]
    typed["accme_activity_id"] = accme.where(accme.str.fullmatch(r"\d+").fillna(False))
    typed["max_credits_value"] = typed["max_credits_value"].where(typed["max_credits_value"] > 0)
    return typed[["portal_activity_id", "accme_activity_id", "max_credits_value", "start", "end"]].reset_index(
        drop=True
    )


def map_activities(claims: pd.DataFrame, activity_map: pd.DataFrame) -> pd.DataFrame:
    """Claims with `accme_activity_id`, `max_credits_value`, `start`, `end` and `mapped` (a new frame)."""
    joined = claims.drop(
        columns=["accme_activity_id", "max_credits_value", "start", "end", "mapped"], errors="ignore"
    ).merge(activity_map.assign(mapped=True), on="portal_activity_id", how="left", validate="many_to_one")
    joined.index = claims.index
    joined["mapped"] = joined["mapped"].fillna(False).astype(bool)
    return joined


def mapping_defects(mapped: pd.DataFrame) -> dict[Reason, pd.Series]:
    completion = mapped["completion"]
    credits = mapped["credits_value"]
    outside = ((completion < mapped["start"]) | (completion > mapped["end"])).fillna(False)
    return {
        Reason.ACTIVITY_NOT_MAPPED: ~mapped["mapped"],
        Reason.ACTIVITY_NOT_REGISTERED: mapped["mapped"] & mapped["accme_activity_id"].isna(),
        Reason.CREDITS_EXCEED_ACTIVITY_MAX: (credits > mapped["max_credits_value"]).fillna(False),
        Reason.COMPLETION_OUTSIDE_ACTIVITY_DATES: outside,
    }
