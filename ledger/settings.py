"""Settings, read once from the environment (`LEDGERLINE_…`, plus `DATABASE_URL`)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict
from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DB_POOL_SIZE_MAX = 100
"""PostgreSQL's default max_connections; a bigger pool could never be filled."""


class Environment(StrEnum):
    """What kind of run this is; only a test run may relax the safeguards."""

    PRODUCTION = "production"
    DEVELOPMENT = "development"
    TEST = "test"


class LogFormat(StrEnum):
    """How log lines are written."""

    AUTO = "auto"
    """JSON lines when the output is not a terminal, readable lines when it is."""
    JSON = "json"
    CONSOLE = "console"


class Settings(BaseSettings):
    """Everything a Ledgerline process is configured with."""

    model_config = SettingsConfigDict(
        env_prefix="LEDGERLINE_",
        extra="ignore",
        frozen=True,
        # A DATABASE_URL may hold a password: never echo inputs in error messages.
        hide_input_in_errors=True,
    )

    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "LEDGERLINE_DATABASE_URL"),
        description="PostgreSQL to use; without it Ledgerline runs its own embedded server.",
    )
    home: Path = Field(
        default=Path(".ledgerline"),
        description="Folder of Ledgerline's own data, such as the embedded database.",
    )
    environment: Environment = Field(
        default=Environment.PRODUCTION,
        description="`test` allows a database without durable commits; nothing else does.",
    )
    host: str = Field(default="127.0.0.1", description="Address the HTTP API listens on.")
    port: int = Field(default=8000, ge=0, le=65535, description="Port of the HTTP API.")
    log_level: str = Field(default="info", pattern="^(debug|info|warning|error)$")
    log_format: LogFormat = LogFormat.AUTO
    db_pool_size: int = Field(default=10, ge=1, le=DB_POOL_SIZE_MAX)

    @field_validator("database_url")
    @classmethod
    def _parse_database_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("DATABASE_URL must be a postgresql:// URL")
        try:
            conninfo_to_dict(value)
        except Exception:
            # The parser's message may quote the URL, password included: leave it out.
            raise ValueError(
                "DATABASE_URL is not a valid PostgreSQL URL (postgresql://user:password@host:port/"
                "database, with special characters percent-encoded)"
            ) from None
        return value

    @property
    def is_test(self) -> bool:
        """Whether this run is marked as a test run."""
        return self.environment is Environment.TEST
