"""Load errors, grouped by what they call for (meltano-style)."""

from __future__ import annotations


class LoadError(Exception):
    """Fatal: the run stops, its transaction is rolled back, nothing is sent."""


class RetriableLoadError(LoadError):
    """Transient (database connection, a locked file): the same step may be retried with backoff."""


class RunLockedError(LoadError):
    """Another run holds the run lock; this run did nothing."""

    def __init__(self, holder: str, host: str | None, pid: int | None, since: object) -> None:
        self.holder = holder
        super().__init__(
            f"another run ({holder} on {host}, pid {pid}, since {since}) holds the run lock; "
            "wait for it to finish and run again."
        )


class AlreadySentError(LoadError):
    """A unique key refused a send: another run sent these claims first. Nothing was committed."""
