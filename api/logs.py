"""structlog, configured once per process: JSON lines for machines, readable lines for people.

Ledgerline's own lines go the short way: structlog renders them and writes them to the stream
itself, and a line below the level costs one method call that does nothing. Only the
standard library's records (uvicorn, psycopg, pgserver) pass through `logging`, and are
rendered by the same processors into the same stream, under the same lock, so lines never
interleave. The way through `logging` for every line cost a request about 70 µs of the event
loop's time (a record made, the caller's frame found, a handler's lock, the processors run a
second time): an eighth of a command's (docs/performance.md, issue 16).
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import structlog

from ledger.settings import LogFormat

QUIET_LIBRARIES = ("pgserver", "psycopg.pool", "uvicorn.access")
"""Chatty at INFO; their warnings still get through."""


class NamedWriteLogger(structlog.WriteLogger):
    """structlog's own writer, keeping the name `structlog.get_logger(name)` gave it, which
    `add_logger_name` puts in each line as `logger` (as the standard library's did)."""

    def __init__(self, file: TextIO, name: str) -> None:
        super().__init__(file)
        self.name = name


class LineHandler(logging.Handler):
    """Writes the standard library's records, rendered by structlog's formatter, through a
    structlog writer: one lock per stream for both kinds of line."""

    def __init__(self, out: TextIO) -> None:
        super().__init__()
        self._writer = structlog.WriteLogger(out)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._writer.msg(self.format(record))
        except Exception:  # the standard library's contract for a handler
            self.handleError(record)


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

    def writer(*args: Any) -> NamedWriteLogger:
        return NamedWriteLogger(out, str(args[0]) if args else "root")

    structlog.configure(
        processors=[*shared, renderer],
        logger_factory=writer,
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        cache_logger_on_first_use=True,
    )
    handler = LineHandler(out)
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
