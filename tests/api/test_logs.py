"""structlog is configured once: JSON lines for machines, readable lines for a terminal."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from api.logs import configure_logging
from ledger.settings import LogFormat
from tests.support import route_logs_to_pytest


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    structlog.reset_defaults()
    root.handlers[:] = handlers
    root.setLevel(level)
    route_logs_to_pytest()


@pytest.mark.usefixtures("restore_logging")
def test_output_that_is_not_a_terminal_gets_json_lines_with_bound_context() -> None:
    out = io.StringIO()
    configure_logging("info", LogFormat.AUTO, stream=out)
    structlog.contextvars.bind_contextvars(request_id="r-1")
    try:
        structlog.get_logger("test").info("invoice_issued", invoice_number="2026-000001")
        logging.getLogger("uvicorn.error").warning("from the standard library")
        structlog.get_logger("test").debug("not at info level")
    finally:
        structlog.contextvars.clear_contextvars()

    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["event"] for line in lines] == ["invoice_issued", "from the standard library"]
    assert lines[0]["request_id"] == "r-1"
    assert lines[0]["invoice_number"] == "2026-000001"
    assert lines[0]["level"] == "info"
    assert lines[1]["level"] == "warning"
    assert lines[0]["timestamp"].endswith("Z")


@pytest.mark.usefixtures("restore_logging")
def test_console_format_is_readable_not_json() -> None:
    out = io.StringIO()
    configure_logging("info", LogFormat.CONSOLE, stream=out)
    structlog.get_logger("test").info("invoice_issued", invoice_number="2026-000001")
    line = out.getvalue().strip()
    assert "invoice_issued" in line
    assert "invoice_number=2026-000001" in line
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)


def _charge(number: str) -> None:
    card_on_its_way = number  # a local, as in a handler that hands a card to the gateway
    raise RuntimeError(f"gateway unreachable for a card ending {card_on_its_way[-4:]}")


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize("log_format", [LogFormat.CONSOLE, LogFormat.JSON])
def test_r_x4_a_logged_traceback_shows_no_local_variables(log_format: LogFormat) -> None:
    out = io.StringIO()
    configure_logging("info", log_format, stream=out)
    number = "4242424242424242"
    try:
        _charge(number)
    except RuntimeError:
        structlog.get_logger("test").exception("request_failed")
    text = out.getvalue()
    assert "gateway unreachable for a card ending 4242" in text
    assert "_charge" in text
    assert number not in text
