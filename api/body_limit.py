"""A bound on request bodies: one over `http_body_max_bytes` is refused with 413
`body_too_large` before it is read into memory, let alone parsed.

Without it a request body of any size was read whole and handed to the JSON parser: one
client sending gigabytes held that much memory in one handler, and a few at once exhausted
the server. A body that declares its length (`Content-Length`) is refused before a byte of it
is read; a chunked one is counted as it arrives and refused at the first byte over the bound.
The server reads and drops the rest of a refused body (its keep-alive timeout cuts a client
that keeps sending), so the client reads the 413 and its connection serves the next request.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems.model import EdgeCode
from api.problems.responses import noted, problem_response

CONTENT_LENGTH = b"content-length"


class BodyLimitMiddleware:
    """Refuse a request body longer than `max_bytes` (413 `body_too_large`)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                read: Message = message  # the client left: the app hears so at once
                break
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                read = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
                break
        replayed = False

        async def receive_read_body() -> Message:
            """The body read above, once; then whatever the server says (a disconnect)."""
            nonlocal replayed
            if not replayed:
                replayed = True
                return read
            return await receive()

        await self.app(scope, receive_read_body, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        noted(Request(scope), EdgeCode.BODY_TOO_LARGE)
        response = problem_response(
            413,
            EdgeCode.BODY_TOO_LARGE,
            "Body too large",
            f"A request body may be at most {self.max_bytes:,} bytes.",
            extra={"limit_bytes": self.max_bytes},
        )
        await response(scope, receive, send)


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == CONTENT_LENGTH:
            # The server has checked it is a number; a chunked body declares none.
            return int(value) if value.isdigit() else None
    return None
