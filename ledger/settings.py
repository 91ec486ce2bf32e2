"""Settings, read once from the environment (`LEDGERLINE_…`, plus `DATABASE_URL`)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict
from pydantic import (
    AliasChoices,
    Field,
    FilePath,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from ledger.mail.target import DEFAULT_MAIL_FROM, SmtpTarget
from ledger.sealing import Sealer
from ledger.vendor import VendorProfileError, load_vendor_profiles

DB_POOL_SIZE_MAX = 100
"""PostgreSQL's default max_connections; a bigger pool could never be filled."""
DB_POOL_TIMEOUT_S = 30.0
"""psycopg_pool's own default: long enough to ride out a burst, short enough that a client
behind a stuck pool is told so (503) before its own timeout gives up on us."""
DB_POOL_TIMEOUT_MAX_S = 300.0
AUTH_FAILURES_PER_MINUTE = 60
"""Failed key checks allowed per client address and minute (a minute's worth at once). A
client with a wrong or revoked key fails once per call until a person fixes it; 60 leaves room
for an office of such clients behind one address, and cuts a flood of made-up keys (363/s
measured in issue 11) to one a second, each refused one without a database lookup."""
KEY_CACHE_TTL_S = 30.0
"""How long a server trusts a key it verified without asking the database again: the bound
within which a revoked key stops working everywhere. A key's lookup costs a database round
trip; 30 s spares a busy client one per request and still ends a leaked key within a minute."""
KEY_CACHE_TTL_MAX_S = 300.0
"""A revoked key must not live on for long: past five minutes, revoking is no remedy."""
HTTP_HEADER_TIMEOUT_S = 10.0
"""A request's headers are a few hundred bytes, sent in one packet by any client, even over a
slow mobile link; one that takes longer than this is stuck or trickling them on purpose (a
"slowloris"), and its connection is closed."""
HTTP_BODY_TIMEOUT_S = 30.0
HTTP_BODY_MIN_RATE_BYTES_S = 500
"""A request's body must arrive within 30 s of its headers, plus a second for every 500 bytes
received (Apache's mod_reqtimeout `body=20,MinRate=500` idea): the largest body taken (8 MiB)
needs only a 4 kB/s link, a command of a few hundred bytes arrives in one packet, and a client
trickling a body a byte at a time ("slow POST") is cut off after about 30 s."""
HTTP_KEEP_ALIVE_S = 5
"""uvicorn's default idle time between two requests on one connection: long enough for a
client's next request of a burst, short enough that idle connections do not hold sockets.
Behind a proxy that keeps connections open, set it above the proxy's idle timeout."""
HTTP_TIMEOUT_MAX_S = 300
"""Longer limits would let slow or idle clients hold connections for minutes."""
HTTP_BODY_MAX_BYTES = 8 * 1024 * 1024
"""The largest request body taken (413 `body_too_large` beyond). A command is a few hundred
bytes; the largest is a line created with all its locations at once (LOCATIONS_MAX, 10,000),
about 4.7 MB with 200-character names in a two-byte script (Cyrillic, Polish: the seeds'
languages) written as UTF-8. 8 MiB takes that and keeps a request's memory bounded: the body
is held whole while it is parsed, by each of up to 256 handler threads."""
HTTP_BODY_MAX_BYTES_MAX = 256 * 1024 * 1024
AUDIT_VERIFY_INTERVAL_S = 3600.0
"""How often `serve` verifies the audit chains: each run walks only the events written since
the last (a whole walk at start and every AUDIT_FULL_WALK_EVERY runs), so hourly costs little
and names a tampered row within the hour it could first be noticed."""
AUDIT_VERIFY_INTERVAL_MAX_S = 7 * 24 * 3600.0


class Environment(StrEnum):
    """What kind of run this is; only a test run may relax the safeguards."""

    PRODUCTION = "production"
    DEVELOPMENT = "development"
    TEST = "test"


class TestClocksChoice(StrEnum):
    """Whether test clocks are allowed, said by name (LEDGERLINE_TEST_CLOCKS)."""

    __test__ = False  # not a pytest class, whatever its name
    ALLOW = "allow"
    REFUSE = "refuse"


class DemoChoice(StrEnum):
    """Whether `serve` loads the demo (LEDGERLINE_DEMO; `make run` sets `first-start`)."""

    FIRST_START = "first-start"
    """On the first start of an empty database: no API key ever made, no command over HTTP."""
    OFF = "off"


class ClockKind(StrEnum):
    """Where time comes from."""

    SYSTEM = "system"
    SIMULATED = "simulated"
    """Stands still until moved (the demo and tests); never allowed in production."""


class GatewayKind(StrEnum):
    """Which payment processor Ledgerline charges through."""

    SIMULATOR = "simulator"
    """The faithful simulator (ledger/payments/simulator.py): no money moves. The default outside
    production; in production only when chosen by name."""


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
    test_clocks: TestClocksChoice | None = Field(
        default=None,
        description="Test clocks (issue 15): `allow` them (in production too: a sandbox), or "
        "`refuse` them; unset, they are allowed outside production only.",
    )
    demo: DemoChoice = Field(
        default=DemoChoice.OFF,
        description="`first-start`: `serve` loads the demo into an empty database before it "
        "serves (docs/operations.md, The demo); `make run` sets it unless DEMO=0.",
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
    db_pool_timeout_s: float = Field(
        default=DB_POOL_TIMEOUT_S,
        gt=0,
        le=DB_POOL_TIMEOUT_MAX_S,
        description="How long a request waits for a free read connection before answering 503 "
        "`service_busy`.",
    )
    auth_failures_per_minute: int = Field(
        default=AUTH_FAILURES_PER_MINUTE,
        ge=1,
        le=1_000_000,
        description="Failed API key checks allowed per client address and minute; beyond it "
        "429 `too_many_failed_keys`.",
    )
    key_cache_ttl_s: float = Field(
        default=KEY_CACHE_TTL_S,
        gt=0,
        le=KEY_CACHE_TTL_MAX_S,
        description="How long a verified API key is trusted without a database lookup: a "
        "revoked key is refused by every server within this many seconds.",
    )
    clock: ClockKind = Field(
        default=ClockKind.SYSTEM,
        description="`simulated` for the demo and tests; refused when the environment is "
        "production.",
    )
    clock_start: datetime | None = Field(
        default=None, description="Where a simulated clock starts (an ISO 8601 instant)."
    )
    payment_gateway: GatewayKind | None = Field(
        default=None,
        description="The payment processor. Unset: the simulator outside production; in "
        "production it must be chosen (`simulator` says so on purpose).",
    )
    catalogue: Path | None = Field(
        default=None,
        description="A TOML file of products and prices, imported by the first start of a "
        "store that has none of them; by default the shipped one.",
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Where people reach Ledgerline: links in e-mails start with it.",
    )
    tick_interval_s: float = Field(
        default=60.0, gt=0, le=3600, description="How often `serve` runs the billing clock."
    )
    vendor_profile: FilePath | None = Field(
        default=None,
        description="A TOML file of the vendor's profile in dated versions (legal name, "
        "address, tax ids, bank details, tax rates), printed on every document (read and "
        "checked at start); by default the shipped one (docs/documents.md).",
    )

    @field_validator("vendor_profile")
    @classmethod
    def _check_vendor_profile(cls, value: Path | None) -> Path | None:
        """A malformed profile stops the start (exit 2), not the first document printed."""
        try:
            load_vendor_profiles(value)
        except VendorProfileError as error:
            raise ValueError(str(error)) from None
        return value

    ready_max_lag: int = Field(
        default=10_000,
        ge=0,
        description="`/readyz` answers 503 while any live read model is more events than this "
        "behind the log.",
    )
    workers: int = Field(
        default=1, ge=1, le=64, description="HTTP worker processes of `ledgerline serve`."
    )
    reads_only: bool = Field(
        default=False,
        description="`ledgerline serve` answers reads only, beside a writing instance on the "
        "same database: no background work, and a command answers 421 `read_only_instance` "
        '(docs/operations.md, "Read-only instances").',
    )
    http_header_timeout_s: float = Field(
        default=HTTP_HEADER_TIMEOUT_S,
        gt=0,
        le=HTTP_TIMEOUT_MAX_S,
        description="Seconds a client has to send a request's headers before its connection "
        "is closed.",
    )
    http_body_timeout_s: float = Field(
        default=HTTP_BODY_TIMEOUT_S,
        gt=0,
        le=HTTP_TIMEOUT_MAX_S,
        description="Seconds a client has, after a request's headers, to send its body (plus "
        "one for every 500 bytes received) before its connection is closed.",
    )
    http_keep_alive_s: int = Field(
        default=HTTP_KEEP_ALIVE_S,
        ge=1,
        le=HTTP_TIMEOUT_MAX_S,
        description="Seconds an idle keep-alive connection is kept open for the next request.",
    )
    http_body_max_bytes: int = Field(
        default=HTTP_BODY_MAX_BYTES,
        ge=1024,
        le=HTTP_BODY_MAX_BYTES_MAX,
        description="The longest request body taken, in bytes; a longer one is refused with "
        "413 `body_too_large` before it is read.",
    )
    smtp_url: str | None = Field(
        default=None,
        description="Mail server for the outbox (smtp:// or smtps://); without it no e-mail "
        "leaves, it waits in the outbox.",
    )
    mail_from: str = Field(
        default=DEFAULT_MAIL_FROM,
        description="Sender address of Ledgerline's e-mails, unless the SMTP URL has `from=`.",
    )
    audit_verify_interval_s: float = Field(
        default=AUDIT_VERIFY_INTERVAL_S,
        ge=0,
        le=AUDIT_VERIFY_INTERVAL_MAX_S,
        description="How often `serve` verifies the audit chains (docs/operations.md); 0 turns "
        "the periodic verify off.",
    )
    audit_signing_key: FilePath | None = Field(
        default=None,
        description="A PEM Ed25519 private key that signs audit digests (a file that exists: "
        "checked at start); without it "
        "`audit-signing-key.pem` in LEDGERLINE_HOME, made on first use (docs/audit.md).",
    )

    cipher_key: SecretStr | None = Field(
        default=None,
        description="Seals personal fields at rest (names, e-mails, addresses; ledger/sealing.py): "
        "16, 24 or 32 bytes in base64, made by `ledgerline keys cipher-key`. Once set, keep it: "
        "without it a sealed ledger refuses to start.",
    )

    @field_validator("cipher_key")
    @classmethod
    def _parse_cipher_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        Sealer(value.get_secret_value().strip())  # its message never quotes the key
        return SecretStr(value.get_secret_value().strip())

    def sealer(self) -> Sealer | None:
        """What seals and opens personal fields, or None when no cipher key is set."""
        return None if self.cipher_key is None else Sealer(self.cipher_key.get_secret_value())

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

    @field_validator("smtp_url")
    @classmethod
    def _parse_smtp_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        SmtpTarget.from_url(value)  # its messages never quote the URL, which may hold a password
        return value

    def smtp_target(self) -> SmtpTarget | None:
        """The mail server to deliver the outbox to, or None when none is configured."""
        if self.smtp_url is None:
            return None
        return SmtpTarget.from_url(self.smtp_url, default_from=self.mail_from)

    @model_validator(mode="after")
    def _no_simulated_time_in_production(self) -> Settings:
        if self.clock is ClockKind.SIMULATED and self.environment is Environment.PRODUCTION:
            raise ValueError(
                "LEDGERLINE_CLOCK=simulated is for the demo and tests; it is refused when "
                "LEDGERLINE_ENVIRONMENT is production"
            )
        return self

    @property
    def test_clocks_allowed(self) -> bool:
        """Whether test clocks may be used (issue 15): outside production unless refused, in
        production only when allowed by name (a sandbox deployment)."""
        if self.test_clocks is not None:
            return self.test_clocks is TestClocksChoice.ALLOW
        return self.environment is not Environment.PRODUCTION

    @property
    def is_test(self) -> bool:
        """Whether this run is marked as a test run."""
        return self.environment is Environment.TEST
