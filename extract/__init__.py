"""Extract: the only stage that reads input files (portal exports, the activity map)."""

from extract.activity_map import read_activity_map
from extract.checksums import sha256_file
from extract.errors import ExtractError, MissingColumnsError, UnreadableFileError
from extract.portal_export import read_portal_export

__all__ = [
    "ExtractError",
    "MissingColumnsError",
    "UnreadableFileError",
    "read_activity_map",
    "read_portal_export",
    "sha256_file",
]
