"""structlog, configured once per process: JSON lines for machines, readable lines for people."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog

from ledger.settings import LogFormat

QUIET_LIBRARIES = ("pgserver", "psycopg.pool", "uvicorn.access")
"""Chatty at INFO; their warnings still get through."""


def configure_logging(level: str, log_format: LogFormat, stream: TextIO | None = None) -> None:
    """Send structlog and the standard library's logging through one renderer to `stream`."""
    out = stream or sys.stderr
    as_json = log_format is LogFormat.JSON or (log_format is LogFormat.AUTO and not out.isatty())
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]
    renderer: structlog.typing.Processor
    if as_json:
        shared.append(structlog.processors.format_exc_info)
        renderer = structlog.processors.JSONRenderer()
    else:
        # Tracebacks without their frames' local variables: a local may hold a card number
        # on its way to the gateway (R-X4), and they make an error thousands of lines long.
        renderer = structlog.dev.ConsoleRenderer(
            colors=out.isatty(),
            exception_formatter=(
                structlog.dev.RichTracebackFormatter(show_locals=False)
                if out.isatty()
                else structlog.dev.plain_traceback
            ),
        )

    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)
    # uvicorn installs its own handlers; let its records flow to ours instead.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
