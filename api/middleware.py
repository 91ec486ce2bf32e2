"""Per-request context: a request id in every log line and in the response headers, and the
request's metrics."""

from __future__ import annotations

import re
import time
import uuid

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.metrics import REPLAYED_HEADER, Metrics

REQUEST_ID_HEADER = "x-request-id"
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
"""A caller's own request id is kept when it is short and plain; otherwise we make one."""

REPLAYED = REPLAYED_HEADER.lower().encode()
PROBES = frozenset({"/healthz", "/readyz", "/metrics"})
"""Paths a load balancer or Prometheus polls every few seconds: their answers are logged at
debug, not info, unless they fail (a probe's log line would otherwise drown the others, and
cost more than the answer)."""

log = structlog.get_logger("api.request")


class RequestContextMiddleware:
    """Bind a request id for each HTTP request, log its outcome and return the id as a header."""

    def __init__(self, app: ASGIApp, metrics: Metrics | None = None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500
        replayed = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, replayed
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                replayed = any(name.lower() == REPLAYED for name, _ in headers)
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            if self.metrics is not None:
                self.metrics.observe(scope, status, replayed, seconds)
            quiet = scope["path"] in PROBES and status < 400
            (log.debug if quiet else log.info)(
                "request_completed",
                method=scope["method"],
                path=scope["path"],
                status=status,
                duration_ms=round(seconds * 1000, 2),
            )
            structlog.contextvars.clear_contextvars()


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER.encode():
            candidate: str = value.decode("latin-1")
            if REQUEST_ID_PATTERN.match(candidate):
                return candidate
            break
    return uuid.uuid4().hex
