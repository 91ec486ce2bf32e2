"""The HTTP server's time limits, over real sockets: slow clients do not hold connections."""

from __future__ import annotations

import select
import socket
import time
from urllib.parse import urlsplit

from starlette.responses import PlainTextResponse
from starlette.types import Receive, Scope, Send

from tests.support import served

HEADER_TIMEOUT_S = 0.3
"""Short, so the test is; the server's default is HTTP_HEADER_TIMEOUT_S."""
PATIENCE_S = 5.0
"""How long the test waits for the server to close: far beyond the limit, short of a hang."""
TRICKLE_PAUSE_S = 0.05


def _connect(url: str) -> socket.socket:
    address = urlsplit(url)
    return socket.create_connection((address.hostname, address.port), timeout=PATIENCE_S)


def _closed_by_server(sock: socket.socket) -> bool:
    """Whether the server has closed the connection (without blocking)."""
    readable, _, _ = select.select([sock], [], [], 0)
    if not readable:
        return False
    try:
        return sock.recv(1024) == b""
    except ConnectionResetError:
        return True


def _wait_until_closed(sock: socket.socket) -> None:
    """Block until the server closes `sock`, or fail after PATIENCE_S."""
    readable, _, _ = select.select([sock], [], [], PATIENCE_S)
    assert readable, "the server kept a silent connection open"
    assert _closed_by_server(sock)


def _trickle_until_closed(sock: socket.socket, data: bytes) -> float:
    """Send `data` a byte at a time until the server closes; the seconds that took."""
    started = time.monotonic()
    for byte in data:
        if _closed_by_server(sock):
            return time.monotonic() - started
        try:
            sock.send(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            return time.monotonic() - started
        time.sleep(TRICKLE_PAUSE_S)
    raise AssertionError("the server kept reading a trickle")


def test_a_client_sending_its_headers_a_byte_at_a_time_is_cut_off() -> None:
    app = PlainTextResponse("ok")
    with served(app, header_timeout_s=HEADER_TIMEOUT_S) as url:
        slow = _connect(url)
        silent = _connect(url)
        silent_since = time.monotonic()
        patient: socket.socket | None = None
        try:
            trickle = b"GET / HTTP/1.1\r\nHost: a\r\n" + b"X-Slow: " + b"a" * 200
            took_s = _trickle_until_closed(slow, trickle)
            assert HEADER_TIMEOUT_S <= took_s + TRICKLE_PAUSE_S < PATIENCE_S
            # It connected and sent nothing: closed after the same limit, counted from its own
            # accept (a moment after the slow one's, so it is waited for, not polled once).
            _wait_until_closed(silent)
            assert HEADER_TIMEOUT_S * 0.9 <= time.monotonic() - silent_since < PATIENCE_S

            # A client that sends its requests in time keeps its connection between them, for
            # several times the limit: the connection's one timer fires before each request's
            # own deadline and sets itself again for it.
            patient = _connect(url)
            for _ in range(6):
                patient.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
                assert patient.recv(1024).startswith(b"HTTP/1.1 200")
                time.sleep(HEADER_TIMEOUT_S / 2)
            assert not _closed_by_server(patient)
            # Then a request that stalls in its headers is cut off, counted from its start.
            stalled_since = time.monotonic()
            patient.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n")
            _wait_until_closed(patient)
            assert HEADER_TIMEOUT_S * 0.9 <= time.monotonic() - stalled_since < PATIENCE_S
        finally:
            for sock in (slow, silent, patient):
                if sock is not None:
                    sock.close()


BODY_TIMEOUT_S = 0.3
"""Short, so the test is; the server's default is HTTP_BODY_TIMEOUT_S."""


async def _body_length(scope: Scope, receive: Receive, send: Send) -> None:
    """Reads the whole body, then answers its length (as a command's handler does)."""
    length, more = 0, True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        length += len(message.get("body", b""))
        more = message.get("more_body", False)
    await PlainTextResponse(str(length))(scope, receive, send)


def _post_head(length: int) -> bytes:
    return f"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: {length}\r\n\r\n".encode()


def test_a_client_trickling_its_body_is_cut_off_and_a_slow_honest_one_gets_through() -> None:
    with served(_body_length, body_timeout_s=BODY_TIMEOUT_S) as url:
        trickler = _connect(url)
        honest = _connect(url)
        try:
            trickler.sendall(_post_head(200))
            took_s = _trickle_until_closed(trickler, b"x" * 200)
            assert BODY_TIMEOUT_S <= took_s + TRICKLE_PAUSE_S < PATIENCE_S

            # 2,000 bytes over about 0.6 s, twice the base time: each 500 bytes buy a second.
            honest.sendall(_post_head(2_000))
            for _ in range(4):
                time.sleep(BODY_TIMEOUT_S / 2)
                honest.sendall(b"y" * 500)
            answer = honest.recv(1024)
            assert answer.startswith(b"HTTP/1.1 200")
            assert answer.endswith(b"2000")
        finally:
            trickler.close()
            honest.close()
