"""The activity map staff maintain: portal activity id -> ACCME activity id and limits."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

MAP_HEADERS: dict[str, tuple[str, ...]] = {
    "portal_activity_id": ("Portal Activity ID", "Activity ID"),
    "accme_activity_id": ("ACCME Activity ID", "PARS Activity ID"),
    "max_credits": ("Max Credits", "Designated Credits"),
    "start_date": ("Start Date",),
    "end_date": ("End Date",),
    "map_board": ("Certifying Board", "Board"),
    "map_moc_points": ("MOC Points", "Max MOC Points"),
    "activity_title": ("Activity Title", "Title"),
}
REQUIRED_MAP_FIELDS: tuple[str, ...] = ("portal_activity_id", "accme_activity_id")


class ActivityMap(pa.DataFrameModel):
    """A usable map (`transform.mapping.usable_activity_map`): one row per portal id; the ACCME id
    is digits or missing (not registered); a maximum, when known, is positive."""

    portal_activity_id: Series[str] = pa.Field(unique=True)
    accme_activity_id: Series[str] = pa.Field(nullable=True, str_matches=r"^\d+$")
    max_credits_value: Series[float] = pa.Field(nullable=True, gt=0)
    start: Series[pa.DateTime] = pa.Field(nullable=True)
    end: Series[pa.DateTime] = pa.Field(nullable=True)

    @pa.dataframe_check
    @classmethod
    def registered_rows_end_after_start(cls, frame: pd.DataFrame) -> pd.Series:
        # A row whose dates are reversed is usable only as "not registered" (its claims wait).
        reversed_dates = (frame["end"] < frame["start"]).fillna(False)
        return ~(reversed_dates & frame["accme_activity_id"].notna())

    class Config:
        strict = False
