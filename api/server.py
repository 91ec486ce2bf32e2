"""uvicorn as Ledgerline runs it: with a time limit on every part of a connection.

uvicorn bounds the idle time between two requests on a keep-alive connection
(`timeout_keep_alive`), but not the time a client takes to send a request's headers or its
body: a client sending them a byte at a time holds its connection, and a task, for as long as
it likes (a few hundred such clients exhaust a server). `HeaderTimeoutProtocol` closes a
connection whose request headers are not complete in time, or whose body does not follow them
in time (a base time, plus a little for every byte that does arrive: a slow link sending a
large body in earnest gets through, a trickle does not).
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ledger.settings import (
    HTTP_BODY_MIN_RATE_BYTES_S,
    HTTP_BODY_TIMEOUT_S,
    HTTP_HEADER_TIMEOUT_S,
    HTTP_KEEP_ALIVE_S,
)


class ServerConfig(uvicorn.Config):
    """uvicorn's configuration, plus how long a client may take to send a request's headers
    and its body."""

    def __init__(
        self, app: Any, *, header_timeout_s: float, body_timeout_s: float, **options: Any
    ) -> None:
        super().__init__(app, http=HeaderTimeoutProtocol, **options)
        self.header_timeout_s = header_timeout_s
        self.body_timeout_s = body_timeout_s


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol (httptools), closing a connection when a request's headers
    are not all there `header_timeout_s` after the connection opened or the request began, or
    its body is not all there `body_timeout_s` after the headers (plus a second for every
    `HTTP_BODY_MIN_RATE_BYTES_S` bytes received)."""

    def __init__(self, config: uvicorn.Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self.header_timeout_s = float(getattr(config, "header_timeout_s", 0)) or None
        self.body_timeout_s = float(getattr(config, "body_timeout_s", 0)) or None
        self._header_deadline: asyncio.TimerHandle | None = None
        self._body_deadline: asyncio.TimerHandle | None = None
        self._body_until = 0.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._header_deadline is None:
            self._arm_header_deadline()

    def on_headers_complete(self) -> None:
        self._disarm_header_deadline()
        super().on_headers_complete()
        if self.body_timeout_s is not None:
            # Disarmed at once by a request without a body (its message completes with it).
            self._body_until = self.loop.time() + self.body_timeout_s
            self._body_deadline = self.loop.call_at(self._body_until, self._body_late)

    def on_body(self, body: bytes) -> None:
        self._body_until += len(body) / HTTP_BODY_MIN_RATE_BYTES_S
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._disarm_body_deadline()
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        self._disarm_body_deadline()
        super().connection_lost(exc)

    def _disarm_body_deadline(self) -> None:
        if self._body_deadline is not None:
            self._body_deadline.cancel()
            self._body_deadline = None

    def _body_late(self) -> None:
        if self.loop.time() < self._body_until:  # bytes came meanwhile: they bought time
            self._body_deadline = self.loop.call_at(self._body_until, self._body_late)
            return
        self._body_deadline = None
        if not self.transport.is_closing():
            self.logger.info("Request body not received in time; closing the connection.")
            self.transport.close()

    def _arm_header_deadline(self) -> None:
        if self.header_timeout_s is not None:
            self._header_deadline = self.loop.call_later(self.header_timeout_s, self._headers_late)

    def _disarm_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_late(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            self.logger.info("Request headers not received in time; closing the connection.")
            self.transport.close()


def server_config(
    app: Any,
    *,
    header_timeout_s: float = HTTP_HEADER_TIMEOUT_S,
    body_timeout_s: float = HTTP_BODY_TIMEOUT_S,
    keep_alive_s: int = HTTP_KEEP_ALIVE_S,
    **options: Any,
) -> ServerConfig:
    """The uvicorn configuration `ledgerline serve` (and the tests' server) runs with; our
    structlog set-up logs, and each request logs its own line (no access log)."""
    options.setdefault("log_config", None)
    options.setdefault("access_log", False)
    return ServerConfig(
        app,
        header_timeout_s=header_timeout_s,
        body_timeout_s=body_timeout_s,
        timeout_keep_alive=keep_alive_s,
        **options,
    )
