"""Problems over real HTTP: bad input is a 422 problem, never a 500; an unknown error is a
bare 500 problem, and the connection stays usable."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
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


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_the_trial_balance_as_of_the_first_or_last_date_there_is_reads_the_books(
    http: httpx.Client, day: str
) -> None:
    response = http.get("/v1/ledger/trial-balance", params={"as_of_date": day})
    assert response.status_code == 200, response.text
    assert response.json()["as_of_date"] == day


@pytest.mark.parametrize(
    "day",
    [
        "0000-01-01",
        "9999-12-32",
        "10000-01-01",
        "9999-12-31T23:59:59Z",
        "+9999-12-31",
        "\uff12\uff10\uff12\uff16-01-01",  # full-width digits
    ],
)
def test_the_trial_balance_as_of_a_date_there_is_not_is_a_422_problem(
    http: httpx.Client, day: str
) -> None:
    response = http.get("/v1/ledger/trial-balance", params={"as_of_date": day})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] in {"invalid_value", "validation_failed"}
