"""Header matching: accepted spellings, ignoring case and surrounding spaces."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence


def header_key(header: object) -> str:
    # Portals pad, re-case and sometimes double-space headers; non-breaking spaces too.
    return re.sub(r"\s+", " ", str(header).replace("\ufeff", "").replace("\xa0", " ")).strip().casefold()


def match_headers(headers: Sequence[object], accepted: Mapping[str, Iterable[str]]) -> dict[str, int]:
    """Canonical field -> position of the first header that spells it; unknown headers are ignored."""
    lookup = {header_key(spelling): field for field, spellings in accepted.items() for spelling in spellings}
    found: dict[str, int] = {}
    for position, header in enumerate(headers):
        field = lookup.get(header_key(header))
        if field is not None and field not in found:
            found[field] = position
    return found


def header_score(headers: Sequence[object], accepted: Mapping[str, Iterable[str]]) -> int:
    return len(match_headers(headers, accepted))
