"""Settings come from the environment: LEDGERLINE_* and DATABASE_URL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from ledger.settings import ClockKind, Environment, Settings


def test_defaults_run_embedded_in_production_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    settings = Settings()
    assert settings.database_url is None
    assert settings.home == Path(".ledgerline")
    assert settings.environment is Environment.PRODUCTION
    assert not settings.is_test
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)


def test_reads_database_url_and_prefixed_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:secret@db.internal:5433/ledger")
    monkeypatch.setenv("LEDGERLINE_HOME", "/var/lib/ledgerline")
    monkeypatch.setenv("LEDGERLINE_ENVIRONMENT", "test")
    monkeypatch.setenv("LEDGERLINE_PORT", "9000")
    settings = Settings()
    assert settings.database_url == "postgresql://app:secret@db.internal:5433/ledger"
    assert settings.home == Path("/var/lib/ledgerline")
    assert settings.is_test
    assert settings.port == 9000


@pytest.mark.parametrize(
    "url", ["mysql://app:hunter2@db/ledger", "postgresql://app:hunter2 @db:notaport/x y"]
)
def test_a_bad_database_url_is_refused_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    with pytest.raises(ValidationError) as refused:
        Settings()
    assert "DATABASE_URL" in str(refused.value)
    assert "hunter2" not in str(refused.value)


def test_an_unknown_environment_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEDGERLINE_ENVIRONMENT", "staging-ish")
    with pytest.raises(ValidationError):
        Settings()


@pytest.mark.parametrize("environment", ["development", "test"])
def test_a_simulated_clock_is_for_the_demo_and_tests(
    monkeypatch: pytest.MonkeyPatch, environment: str
) -> None:
    monkeypatch.setenv("LEDGERLINE_ENVIRONMENT", environment)
    monkeypatch.setenv("LEDGERLINE_CLOCK", "simulated")
    monkeypatch.setenv("LEDGERLINE_CLOCK_START", "2026-01-31T09:30:00+00:00")
    settings = Settings()
    assert settings.clock is ClockKind.SIMULATED
    assert settings.clock_start == datetime(2026, 1, 31, 9, 30, tzinfo=UTC)


def test_a_simulated_clock_can_never_be_switched_on_in_production(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("LEDGERLINE_ENVIRONMENT", raising=False)
    monkeypatch.setenv("LEDGERLINE_CLOCK", "simulated")
    with pytest.raises(ValidationError) as refused:
        Settings()
    assert "refused when LEDGERLINE_ENVIRONMENT is production" in str(refused.value)
