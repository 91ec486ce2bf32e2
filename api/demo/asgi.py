"""The demo's HTTP client: requests sent to the app in this process, through ASGI.

Every request travels the whole HTTP stack a client's would (key check, Idempotency-Key,
pydantic, the route, problems, middleware) without a socket: the demo loads before the server
listens, and needs no HTTP client library at run time (httpx is a test dependency only).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

Message = MutableMapping[str, Any]
AsgiApp = Callable[
    [Message, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
    Awaitable[None],
]
DEMO_ADDRESS = ("127.0.0.1", 0)
"""Where the demo's requests say they come from (the key limiter counts per address)."""


@dataclass(frozen=True)
class Answer:
    """An HTTP response: its status and its JSON body (None when it has none)."""

    status: int
    body: Any


async def request(
    app: AsgiApp,
    method: str,
    path: str,
    *,
    token: str,
    body: Any = None,
    params: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    """Send one request to `app` and gather its answer."""
    content = b"" if body is None else json.dumps(body).encode()
    sent = {"authorization": f"Bearer {token}", **(headers or {})}
    if body is not None:
        sent["content-type"] = "application/json"
    sent["content-length"] = str(len(content))
    scope: Message = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": urlencode(params or {}).encode(),
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in sent.items()],
        "client": DEMO_ADDRESS,
        "server": ("demo.invalid", 80),
    }
    received = False
    status = 0
    chunks: list[bytes] = []

    async def receive() -> Message:
        nonlocal received
        if received:
            return {"type": "http.disconnect"}
        received = True
        return {"type": "http.request", "body": content, "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
        elif message["type"] == "http.response.body":
            chunks.append(bytes(message.get("body", b"")))

    await app(scope, receive, send)
    raw = b"".join(chunks)
    return Answer(status, json.loads(raw) if raw else None)
