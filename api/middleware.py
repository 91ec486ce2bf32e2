"""The one middleware of every HTTP request: its id, its body's bound, its last-resort 500, its
log line and its metrics."""

from __future__ import annotations

import re
import secrets
import time

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.body_limit import read_bounded, refuse, replaying
from api.metrics import REPLAYED_HEADER, Metrics
from api.problems.handlers import answer_unexpected
from api.problems.model import EdgeCode
from api.problems.responses import problem_response

REQUEST_ID_HEADER = "x-request-id"
REQUEST_ID_HEADER_BYTES = REQUEST_ID_HEADER.encode()
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
"""A caller's own request id is kept when it is short and plain; otherwise we make one."""

REPLAYED = REPLAYED_HEADER.lower().encode()
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
"""What a read-only instance answers: the methods that change nothing."""
PROBES = frozenset({"/healthz", "/readyz", "/metrics"})
"""Paths a load balancer or Prometheus polls every few seconds: their answers are logged at
debug, not info, unless they fail (a probe's log line would otherwise drown the others, and
cost more than the answer)."""

log = structlog.get_logger("api.request")


class EdgeMiddleware:
    """What every HTTP request passes through, in one layer (issue 16: each layer of
    middleware was a coroutine and a `send` wrapper more on the event loop, per request):

    - a request id, bound into every log line about the request and returned as
      `X-Request-Id`;
    - the body bounded (api/body_limit.py): one over `max_body_bytes` is answered 413
      `body_too_large` before the app reads it;
    - an error no handler knows answered with a bare 500 problem, and the connection kept.
      Starlette's own last-resort handler sends the 500 and then raises the error again, for
      the server to see; uvicorn then closes the connection, so a client's next request on the
      same keep-alive connection is reset. Here the error ends at the 500 it is logged with.
      An error after the response has started still reaches the server: that connection
      cannot carry another response;
    - the outcome logged and counted, refusals and 500s included;
    - on a read-only instance (`reads_only`), a command answered 421 `read_only_instance`
      before any of the app's work: it writes nothing there.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        metrics: Metrics | None = None,
        *,
        reads_only: bool = False,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.metrics = metrics
        self.reads_only = reads_only

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
        answering = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, replayed, answering
            if message["type"] == "http.response.start":
                answering = True
                status = message["status"]
                headers = list(message.get("headers", []))
                replayed = any(name.lower() == REPLAYED for name, _ in headers)
                headers.append((REQUEST_ID_HEADER_BYTES, request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            read = await read_bounded(scope, receive, self.max_body_bytes)
            if read is None:
                await refuse(scope, receive, send_with_id, self.max_body_bytes)
            elif self.reads_only and scope["method"] not in READ_METHODS:
                await READ_ONLY(scope, replaying(read, receive), send_with_id)
            else:
                await self.app(scope, replaying(read, receive), send_with_id)
        except Exception as error:
            log.exception("request_failed", error_type=type(error).__name__)
            if answering:
                raise
            await answer_unexpected(scope, receive, send_with_id)
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


READ_ONLY = problem_response(
    421,
    EdgeCode.READ_ONLY_INSTANCE,
    "Read-only instance",
    "This instance serves reads only: send commands to the writing instance.",
)
"""The answer of a read-only instance to a command (the same bytes every time)."""


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER_BYTES:
            candidate: str = value.decode("latin-1")
            if REQUEST_ID_PATTERN.match(candidate):
                return candidate
            break
    # 128 random bits as 32 hex digits, as `uuid4().hex` wrote them (less its six fixed bits):
    # without building a UUID object, which took a twelfth of a probe's time on the loop.
    return secrets.token_hex(16)
