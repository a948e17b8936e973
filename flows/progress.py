"""A live progress line for long runs (files read, rows so far), on a terminal only.

When stderr is not a terminal (the schedule, a worker, a pipe, CI) nothing is drawn: the run's
log lines say the same and a progress bar would only litter them.
"""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn


class FileProgress:
    """`with FileProgress(total_files) as progress: ... progress.file_done(name, rows)`."""

    def __init__(self, total_files: int, *, description: str = "reading exports", console: Console | None = None):
        self.console = console or Console(stderr=True)
        self.enabled = self.console.is_terminal and total_files > 0
        self.total_files = total_files
        self.description = description
        self.rows = 0
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> FileProgress:
        if self.enabled:
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("files, {task.fields[rows]:,} rows"),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task(self.description, total=self.total_files, rows=0)
        return self

    def file_done(self, file_name: str, rows: int) -> None:
        self.rows += rows
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, advance=1, rows=self.rows, description=f"{self.description}: {file_name}")

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
