"""Extract errors. All are fatal for the run: the file as a whole cannot be used.

Messages name the file and the columns, never a cell's content (it may be learner identity).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


class ExtractError(Exception):
    """A whole input file is unusable; the run fails and loads nothing."""

    reason = "UNREADABLE_FILE"

    def __init__(self, path: Path | str, message: str) -> None:
        self.path = str(path)
        super().__init__(f"{Path(path).name}: {message}")


class UnreadableFileError(ExtractError):
    reason = "UNREADABLE_FILE"


class MissingColumnsError(ExtractError):
    reason = "MISSING_REQUIRED_COLUMNS"

    def __init__(self, path: Path | str, missing: Sequence[str], accepted: dict[str, tuple[str, ...]]):
        self.missing = list(missing)
        wanted = "; ".join(f"{f} (any of: {', '.join(accepted[f])})" for f in missing)
        super().__init__(
            path,
            f"required column(s) missing: {wanted}. Add the column(s) to the export "
            "(header spellings are matched ignoring case and spaces) and run again.",
        )
