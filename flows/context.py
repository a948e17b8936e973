"""What one run carries between its tasks: ids, settings, the ledger engine, the as-of date."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from datetime import date, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy.engine import Engine

from extract.checksums import sha256_file
from flows.settings import Settings
from load.ledger.database import redact_url
from schemas.reasons import OUTCOMES


def output_file_row(role: str, path: Path, note: str | None = None) -> dict:
    """A written file as the ledger's run_files records it (name, path, checksum)."""
    row = {"role": role, "file_name": path.name, "path": str(path), "sha256": sha256_file(path)}
    return {**row, "note": note} if note else row


def code_version() -> str:
    try:
        package = version("cme-relay")
    except PackageNotFoundError:
        package = "0+unknown"
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{package}+{commit}" if commit else package


def resolve_as_of(as_of: str | date | None, timezone: str) -> date:
    """The given date, else the flow run's scheduled start in the office's time zone.

    A late or retried scheduled run keeps its scheduled date, so it covers the same window.
    """
    if isinstance(as_of, date):
        return as_of
    if as_of:
        return date.fromisoformat(as_of)
    from prefect.runtime import flow_run

    scheduled = flow_run.scheduled_start_time
    return scheduled.astimezone(ZoneInfo(timezone)).date()


@dataclass
class RunContext:
    run_id: str
    settings: Settings
    engine: Engine
    as_of: date
    trigger: str
    triggered_by: str
    started_at: datetime
    code_version: str
    dry_run: bool

    @property
    def batch_stem(self) -> str:
        return f"PARS-{self.as_of:%Y%m%d}-{self.run_id[:8]}"

    def empty_summary(self) -> dict:
        return {
            "run_id": self.run_id,
            "status": "running",
            "as_of": self.as_of.isoformat(),
            "counts": {"input_rows": 0, **{o: 0 for o in OUTCOMES}},
            "carried_over": {"submitted": 0, "delayed": 0, "rejected": 0},
            "reasons": {"rejected": {}, "delayed": {}},
            "submission_files": [],
            "report_files": [],
            "error": None,
        }

    def report_header(self, files: pd.DataFrame | None) -> dict:
        header = {
            "run id": self.run_id,
            "trigger": self.trigger,
            "triggered by": self.triggered_by,
            "started (UTC)": self.started_at.isoformat(timespec="seconds"),
            "as of": self.as_of.isoformat(),
            "code version": self.code_version,
            "cutoff": self.settings.cutoff.isoformat(),
            "ledger": redact_url(self.settings.database_url),
        }
        if files is not None:
            for row in files.itertuples():
                rows = "" if pd.isna(getattr(row, "rows", None)) else f", {int(row.rows)} rows"
                note = f", {row.note}" if isinstance(row.note, str) else ""
                header[f"input {row.role}: {row.file_name}"] = f"sha256 {row.sha256}{rows}{note}"
        return header

    def output_file_rows(self, summary: dict) -> list[dict]:
        return [
            output_file_row(role, Path(path))
            for role, key in (("registry", "submission_files"), ("report", "report_files"))
            for path in summary[key]
        ]

    @staticmethod
    def stored_counts(summary: dict) -> dict:
        return {k: summary[k] for k in ("counts", "carried_over", "reasons")}
