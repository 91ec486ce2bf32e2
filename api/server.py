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
    `HTTP_BODY_MIN_RATE_BYTES_S` bytes received).

    A connection keeps one deadline (what it waits for, and until when) and at most one timer
    pending: a request moves the deadline, a float, and the timer, when it fires early, sets
    itself again for the deadline as it is then (it is set again at once only when the new
    deadline comes before it). Arming and cancelling a timer for the headers
    and another for the body of every request cost four timer handles a request on the event
    loop (issue 16); a busy keep-alive connection now costs one timer per `header_timeout_s`.
    """

    def __init__(self, config: uvicorn.Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self.header_timeout_s = float(getattr(config, "header_timeout_s", 0)) or None
        self.body_timeout_s = float(getattr(config, "body_timeout_s", 0)) or None
        self._awaited: str | None = None
        """What the connection waits for: "headers", "body", or None (a request is being
        answered, or the connection is idle between requests: uvicorn's keep-alive bounds
        that)."""
        self._due = 0.0
        self._watch: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await("headers", self.header_timeout_s)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._awaited is None:
            self._await("headers", self.header_timeout_s)

    def on_headers_complete(self) -> None:
        self._awaited = None
        super().on_headers_complete()
        # A request without a body completes with its headers, and waits for nothing more.
        self._await("body", self.body_timeout_s)

    def on_body(self, body: bytes) -> None:
        self._due += len(body) / HTTP_BODY_MIN_RATE_BYTES_S
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._awaited = None
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._awaited = None
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None
        super().connection_lost(exc)

    def _await(self, what: str, timeout_s: float | None) -> None:
        if timeout_s is None:
            return
        self._awaited = what
        self._due = self.loop.time() + timeout_s
        if self._watch is not None and self._watch.when() > self._due:
            # Set for a later deadline (the headers' wait is longer than the body's).
            self._watch.cancel()
            self._watch = None
        if self._watch is None:
            self._watch = self.loop.call_at(self._due, self._check)

    def _check(self) -> None:
        self._watch = None
        if self._awaited is None:
            return
        if self.loop.time() < self._due:  # moved meanwhile: a new request, or bytes came
            self._watch = self.loop.call_at(self._due, self._check)
            return
        late, self._awaited = self._awaited, None
        if not self.transport.is_closing():
            self.logger.info(f"Request {late} not received in time; closing the connection.")
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
