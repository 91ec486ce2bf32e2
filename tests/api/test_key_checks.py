"""Checking keys under load, over real HTTP (issue 11, items 3 and 4).

The runtime here has a read pool of 2 connections that a request waits at most 1 s for, so a
request that waited on the pool answers 503 `service_busy` within the test's time, where the
default (10 connections, 30 s) would stall it for half a minute:

- many requests with made-up keys at once, more than the pool holds, all answer 401, and a
  request with a good key made meanwhile answers 200: checking a key holds nothing the request
  needs afterwards, and no request holds a read connection before its key is checked;
- as many first uses of different good keys at once all answer 200;
- failed key checks are limited per client address (429 `too_many_failed_keys`, with
  `Retry-After`); successful ones are never counted.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from api import keys
from api.app import _routes
from api.deps import get_read_connection
from api.key_limits import FailedKeyLimiter
from api.keys import Role
from api.reads import get_reads
from api.runtime import Runtime
from api.security import bearer_token, get_principal
from ledger.database import Database
from ledger.settings import Environment, Settings

POOL_SIZE = 2
POOL_TIMEOUT_S = 1.0
AT_ONCE = 16
"""Requests sent together: eight times the read pool, as in the issue's reproduction."""


@pytest.fixture
def auth_failures_per_minute() -> int:
    return 1_000


@pytest.fixture
def settings(database: Database, auth_failures_per_minute: int) -> Settings:
    return Settings(
        database_url=database.url,
        environment=Environment.TEST,
        db_pool_size=POOL_SIZE,
        db_pool_timeout_s=POOL_TIMEOUT_S,
        auth_failures_per_minute=auth_failures_per_minute,
    )


def made_up_key() -> str:
    """A key of the right shape that names no key: checking it takes a database lookup."""
    return f"ll_{secrets.token_hex(8)}_{secrets.token_urlsafe(32)}"


def new_keys(runtime: Runtime, role: Role, count: int) -> list[str]:
    """`count` new keys of `role`, none of them checked yet."""
    with runtime.database.connect() as conn:
        return [keys.create_key(conn, role, label="test")[1] for _ in range(count)]


def get_with(client: httpx.Client, key: str) -> httpx.Response:
    return client.get("/v1/partners", headers={"Authorization": f"Bearer {key}"})


def get_together(base_url: str, keys: list[str], path: str = "/v1/partners") -> list[int]:
    """GET `path` once per key, all released at the same instant; the status codes, in order."""
    start = threading.Barrier(len(keys))
    limits = httpx.Limits(max_connections=len(keys))
    with (
        httpx.Client(base_url=base_url, timeout=10.0, limits=limits) as client,
        ThreadPoolExecutor(max_workers=len(keys)) as pool,
    ):

        def get(key: str) -> int:
            start.wait()
            return client.get(path, headers={"Authorization": f"Bearer {key}"}).status_code

        return list(pool.map(get, keys))


def test_no_route_takes_a_read_connection_before_the_key_is_checked() -> None:
    """FastAPI solves a route's dependencies depth first, in order: the key check must come
    first wherever a read connection is taken, or a request with a made-up key holds one. A
    plain read runs in one thread with its connection (api/reads.py): its `Reads` depends on
    the caller, and the connection is taken only once every dependency is solved."""
    checked = 0
    for context in iter_route_contexts(_routes().routes):
        route = context.original_route
        if not isinstance(route, APIRoute):
            continue
        solved = _calls_in_solving_order(route.dependant)
        for reading in (get_read_connection, get_reads):
            if reading in solved:
                checked += 1
                assert get_principal in solved, context.path
                assert solved.index(get_principal) < solved.index(reading), context.path
    assert checked > 30


def _calls_in_solving_order(dependant: object) -> list[object]:
    order: list[object] = []
    for dependency in dependant.dependencies:  # type: ignore[attr-defined]
        order.extend(_calls_in_solving_order(dependency))
        order.append(dependency.call)
    return order


def test_made_up_keys_beyond_the_pool_answer_401_while_a_good_key_reads(
    base_url: str, http: httpx.Client
) -> None:
    assert http.get("/v1/partners").status_code == 200  # the admin key is now remembered
    admin = http.headers["Authorization"].removeprefix("Bearer ")
    statuses = get_together(base_url, [*(made_up_key() for _ in range(AT_ONCE)), admin])
    assert statuses == [401] * AT_ONCE + [200]


def test_first_uses_of_many_good_keys_at_once_all_answer_200(
    base_url: str, runtime: Runtime
) -> None:
    fresh = new_keys(runtime, Role.FINANCE, AT_ONCE)
    assert get_together(base_url, fresh) == [200] * AT_ONCE


@pytest.mark.parametrize("auth_failures_per_minute", [3])
def test_failed_key_checks_beyond_the_allowance_answer_429_with_retry_after(
    client_for: Callable[[str | None], httpx.Client], http: httpx.Client
) -> None:
    assert http.get("/v1/partners").status_code == 200
    anonymous = client_for(None)
    failed = [get_with(anonymous, made_up_key()).status_code for _ in range(3)]
    assert failed == [401, 401, 401]
    refused = get_with(anonymous, made_up_key())
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "too_many_failed_keys"
    assert int(refused.headers["retry-after"]) == 20  # one failure back every 60 s / 3
    assert anonymous.get("/v1/partners").status_code == 429  # no key is a failed check too
    assert http.get("/v1/partners").status_code == 200  # a key verified lately still reads


@pytest.mark.parametrize("auth_failures_per_minute", [3])
def test_successful_key_checks_never_spend_the_allowance(
    client_for: Callable[[str | None], httpx.Client], runtime: Runtime
) -> None:
    anonymous = client_for(None)
    for key in new_keys(runtime, Role.AUDITOR, 6):
        assert get_with(anonymous, key).status_code == 200
    failed = [get_with(anonymous, made_up_key()).status_code for _ in range(4)]
    assert failed == [401, 401, 401, 429]


class FakeMonotonic:
    def __init__(self) -> None:
        self.now_s = 100.0

    def __call__(self) -> float:
        return self.now_s


def test_the_allowance_refills_at_its_rate_and_each_address_has_its_own() -> None:
    clock = FakeMonotonic()
    limiter = FailedKeyLimiter(per_minute=2, monotonic=clock)
    for _ in range(2):
        assert limiter.refused_for_s("198.51.100.7") is None
        limiter.failed("198.51.100.7")
    assert limiter.refused_for_s("198.51.100.7") == 30
    assert limiter.refused_for_s("203.0.113.9") is None
    clock.now_s += 29.5
    assert limiter.refused_for_s("198.51.100.7") == 1
    clock.now_s += 0.5
    assert limiter.refused_for_s("198.51.100.7") is None
    limiter.failed("198.51.100.7")
    clock.now_s += 3_600
    assert limiter.refused_for_s("198.51.100.7") is None  # refills to the allowance, no more
    for _ in range(2):
        limiter.failed("198.51.100.7")
    assert limiter.refused_for_s("198.51.100.7") == 30


def test_failures_made_at_once_beyond_the_allowance_are_owed() -> None:
    """Checks in flight together all pass the gate; the failures beyond the allowance are
    paid back before the address is heard again (up to one allowance of debt)."""
    clock = FakeMonotonic()
    limiter = FailedKeyLimiter(per_minute=2, monotonic=clock)
    for _ in range(10):
        limiter.failed("198.51.100.7")
    assert limiter.refused_for_s("198.51.100.7") == 90  # 2 owed, then 1 to spend: 3 x 30 s


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer ll_abc_def", "ll_abc_def"),
        ("bearer ll_abc_def", "ll_abc_def"),
        ("BEARER   ll_abc_def  ", "ll_abc_def"),
        ("Basic ll_abc_def", None),
        ("Bearer", None),
        ("Bearer    ", None),
        ("", None),
        (None, None),
    ],
)
def test_the_key_is_read_from_a_bearer_header_as_httpbearer_reads_it(
    header: str | None, token: str | None
) -> None:
    """The key is read by `bearer_token`, not by FastAPI's `HTTPBearer` as a dependency (one
    solve fewer per request, issue 16): the same header gives the same credentials."""
    assert bearer_token(header) == token
