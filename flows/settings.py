"""Settings: environment variables `CME_RELAY_*` or a `cme-relay.toml` in the working folder."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CME_RELAY_", toml_file="cme-relay.toml", extra="ignore", case_sensitive=False
    )

    database_url: str = Field(default="sqlite:///var/cme-relay.db", description="the ledger (SQLAlchemy URL)")
    inbox: Path = Field(default=Path("var/inbox"), description="where new portal exports are dropped")
    outbox: Path = Field(default=Path("var/outbox"), description="where registry batch files are written")
    reports: Path = Field(default=Path("var/reports"), description="where run reports are written")
    mappings: Path | None = Field(default=None, description="the activity map (CSV or XLSX)")
    cutoff: date = Field(default=date(2023, 7, 1), description="credit earned before this date is rejected")
    timezone: str = Field(default="America/Los_Angeles", description="the office's time zone")
    batch_max_rows: int = Field(default=10_000, gt=0, description="rows per registry file before it is split")
    registry_text: bool = Field(default=False, description="also write the tab-delimited Template B file")
    lock_wait_seconds: float = Field(default=0.0, ge=0, description="how long a run waits for the run lock")
    stream_above_mb: float = Field(
        default=300.0,
        ge=0,
        description="exports larger than this in all are judged in partitions streamed from disk (0: always)",
    )
    partition_rows: int = Field(
        default=400_000, gt=0, description="claims judged at once when the exports are streamed (bounds memory)"
    )
    webhook_url: str | None = Field(default=None, description="notified when a run fails")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @property
    def archive(self) -> Path:
        return self.inbox / "archive"
