"""The activity map staff maintain: portal activity id -> ACCME activity id and limits."""

from __future__ import annotations

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
    """A usable map: one row per portal id; the ACCME id is digits or missing (not registered)."""

    portal_activity_id: Series[str] = pa.Field(unique=True)
    accme_activity_id: Series[str] = pa.Field(nullable=True, str_matches=r"^\d+$")
    max_credits: Series[float] = pa.Field(nullable=True, gt=0)
    start_date: Series[pa.DateTime] = pa.Field(nullable=True)
    end_date: Series[pa.DateTime] = pa.Field(nullable=True)

    class Config:
        strict = False
