"""Unknown errors over real HTTP: a bare 500 problem, and the connection stays usable."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from api.app import create_app
from api.runtime import Runtime
from tests.support import SwitchedApp

FAILING_PATH = "/test-only/fails"


def _fails() -> None:
    raise RuntimeError("a bug in a handler")


@pytest.fixture
def failing_api(runtime: Runtime, http_server: tuple[SwitchedApp, str]) -> Iterator[str]:
    """The real app with one extra route that always raises, served over real HTTP."""
    switch, url = http_server
    app = create_app(runtime)
    app.add_api_route(FAILING_PATH, _fails, methods=["GET"])
    switch.app = app
    try:
        yield url
    finally:
        switch.app = None


def test_an_unknown_error_is_a_bare_500_problem_and_the_connection_serves_the_next_requests(
    failing_api: str,
) -> None:
    address = urlsplit(failing_api)
    # http.client reuses its one connection and never reconnects on its own: a connection the
    # server closed or reset after the 500 fails the requests after it.
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=10)
    try:
        connection.request("GET", FAILING_PATH)
        failed = connection.getresponse()
        body = json.loads(failed.read())
        assert failed.status == 500
        assert failed.getheader("content-type") == "application/problem+json"
        assert failed.getheader("connection") != "close"
        assert body == {
            "type": "urn:ledgerline:problem:internal_error",
            "title": "Internal server error",
            "status": 500,
            "code": "internal_error",
        }
        for _ in range(2):
            connection.request("GET", "/healthz")
            after = connection.getresponse()
            after.read()
            assert after.status == 200
    finally:
        connection.close()
