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
from starlette.types import Message, Receive, Scope, Send

from api.problems.model import EdgeCode
from api.problems.responses import noted, problem_response

CONTENT_LENGTH = b"content-length"


async def read_bounded(scope: Scope, receive: Receive, max_bytes: int) -> Message | None:
    """The request's body as one message, or None when it is longer than `max_bytes` (then
    `refuse` answers). A message other than the body (the client left) is returned as it
    came, for the app to hear at once."""
    declared = _declared_length(scope)
    if declared is not None and declared > max_bytes:
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return message
        size += len(message.get("body", b""))
        if size > max_bytes:
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}


def replaying(read: Message, receive: Receive) -> Receive:
    """A `receive` that gives the body read by `read_bounded` once, then whatever the server
    says (a disconnect)."""
    replayed = False

    async def receive_read_body() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return read
        return await receive()

    return receive_read_body


async def refuse(scope: Scope, receive: Receive, send: Send, max_bytes: int) -> None:
    """Answer 413 `body_too_large`."""
    noted(Request(scope), EdgeCode.BODY_TOO_LARGE)
    response = problem_response(
        413,
        EdgeCode.BODY_TOO_LARGE,
        "Body too large",
        f"A request body may be at most {max_bytes:,} bytes.",
        extra={"limit_bytes": max_bytes},
    )
    await response(scope, receive, send)


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == CONTENT_LENGTH:
            # The server has checked it is a number; a chunked body declares none.
            return int(value) if value.isdigit() else None
    return None
