"""The activity map: judged for problems, then joined onto claims (portal id -> ACCME id)."""

from __future__ import annotations

import pandas as pd

from schemas.activity_map import ActivityMap
from schemas.reasons import Reason
from transform.arrow_ops import lookup, positions, take_at
from transform.parse import digits_only_id, parse_credits, parse_dates

MAP_PROBLEMS = {
    "DUPLICATE_PORTAL_ID": "the portal activity id appears more than once",
    "NON_DIGIT_ACCME_ID": "the ACCME activity id must contain digits only",
    "END_BEFORE_START": "the end date is before the start date",
    "NON_POSITIVE_MAX_CREDITS": "the maximum credits must be a positive number",
    "INVALID_MAP_DATE": "a start or end date is not a date",
    "MISSING_PORTAL_ID": "the row has no portal activity id",
}
# A row with one of these cannot be trusted: its claims wait until staff fix it.
UNUSABLE_ROW_PROBLEMS = ("NON_DIGIT_ACCME_ID", "END_BEFORE_START", "NON_POSITIVE_MAX_CREDITS", "INVALID_MAP_DATE")
MAP_VALUE_COLUMNS = ["accme_activity_id", "max_credits_value", "start", "end"]


def parse_activity_map(raw_map: pd.DataFrame) -> pd.DataFrame:
    """Typed map columns beside the raw ones (a new frame)."""
    typed = raw_map.copy()
    typed["accme_activity_id"] = digits_only_id(raw_map["accme_activity_id"])
    typed["max_credits_value"] = parse_credits(raw_map["max_credits"])
    typed["start"] = parse_dates(raw_map["start_date"])
    typed["end"] = parse_dates(raw_map["end_date"])
    return typed


def _row_problems(raw_map: pd.DataFrame, typed: pd.DataFrame) -> dict[str, pd.Series]:
    """One mask per problem code over the map's rows (in file order)."""
    portal = typed["portal_activity_id"]
    accme = typed["accme_activity_id"]
    return {
        "MISSING_PORTAL_ID": portal.isna(),
        "DUPLICATE_PORTAL_ID": portal.notna() & portal.duplicated(keep=False),
        "NON_DIGIT_ACCME_ID": accme.notna() & ~accme.str.fullmatch(r"\d+").fillna(False).astype(bool),
        "END_BEFORE_START": (typed["end"] < typed["start"]).fillna(False).astype(bool),
        "NON_POSITIVE_MAX_CREDITS": raw_map["max_credits"].notna()
        & ~(typed["max_credits_value"] > 0).fillna(False).astype(bool),
        "INVALID_MAP_DATE": (raw_map["start_date"].notna() & typed["start"].isna())
        | (raw_map["end_date"].notna() & typed["end"].isna()),
    }


def activity_map_problems(raw_map: pd.DataFrame) -> pd.DataFrame:
    """Every problem in a map: `source_file`, `source_line`, `portal_activity_id`, `problem`, `detail`."""
    typed = parse_activity_map(raw_map)
    found = [
        typed.loc[mask, ["source_file", "source_line", "portal_activity_id"]].assign(
            problem=code, detail=MAP_PROBLEMS[code]
        )
        for code, mask in _row_problems(raw_map, typed).items()
        if mask.any()
    ]
    if not found:
        return pd.DataFrame(columns=["source_file", "source_line", "portal_activity_id", "problem", "detail"])
    return pd.concat(found).sort_values(["source_line", "problem"], kind="stable").reset_index(drop=True)


def usable_activity_map(raw_map: pd.DataFrame) -> pd.DataFrame:
    """One row per portal id, never a broken row used silently (`check-mappings` lists them all).

    A portal id listed twice with different values is ambiguous: it counts as not mapped. A row
    with a non-digit ACCME id, end before start, a non-positive maximum or a date that is not a
    date counts as not registered: its claims wait (delayed) until staff fix the row.
    """
    typed = parse_activity_map(raw_map)
    problems = _row_problems(raw_map, typed)
    broken = pd.concat([problems[code] for code in UNUSABLE_ROW_PROBLEMS], axis=1).any(axis=1)
    # Nothing of a broken row is trusted: not its id, nor its dates (which could reject for good).
    for column in MAP_VALUE_COLUMNS:
        typed[column] = typed[column].where(~broken)
    typed = typed[typed["portal_activity_id"].notna()]
    variants = typed.drop_duplicates(["portal_activity_id", *MAP_VALUE_COLUMNS]).groupby("portal_activity_id").size()
    ambiguous = typed["portal_activity_id"].map(variants) > 1
    typed = typed[~ambiguous].drop_duplicates("portal_activity_id", keep="first")
    usable = typed[["portal_activity_id", *MAP_VALUE_COLUMNS]].reset_index(drop=True)
    return ActivityMap.validate(usable, lazy=True)


def accme_max_credits(activity_map: pd.DataFrame) -> pd.Series:
    """The maximum per ACCME activity: the sum of its sessions' maxima (a series), NA if one is unknown."""
    registered = activity_map[activity_map["accme_activity_id"].notna()]
    sessions = registered.groupby("accme_activity_id")["max_credits_value"]
    return sessions.sum().where(sessions.count() == sessions.size())


def map_activities(claims: pd.DataFrame, activity_map: pd.DataFrame) -> pd.DataFrame:
    """Claims with `accme_activity_id`, `max_credits_value`, `accme_max_credits`, `start`, `end` and
    `mapped` (a new frame).

    A left join on the portal id, done as a lookup: a merge would copy every claim column.
    """
    listed = activity_map[["portal_activity_id", *MAP_VALUE_COLUMNS]]
    if listed["portal_activity_id"].duplicated().any():
        raise pd.errors.MergeError("the activity map lists a portal activity id twice; not a many-to-one join")
    joined = claims.drop(columns=["accme_max_credits", *MAP_VALUE_COLUMNS, "mapped"], errors="ignore")
    row = positions(claims["portal_activity_id"], listed["portal_activity_id"], missing_matches=True)
    for column in MAP_VALUE_COLUMNS:
        joined[column] = take_at(listed[column], row)
    joined["mapped"] = row >= 0
    maxima = lookup(listed["accme_activity_id"], accme_max_credits(activity_map))
    joined["accme_max_credits"] = pd.Series(take_at(maxima, row), index=claims.index).astype("float64")
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
