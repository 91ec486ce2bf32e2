"""A revoked key is refused on every route within the documented bound, over real HTTP.

A server remembers a key it verified for `LEDGERLINE_KEY_CACHE_TTL_S` (30 s by default): the
bound within which `ledgerline keys revoke` takes effect everywhere. Here the bound is set to
a fraction of a second through the settings, so the test waits that long, not half a minute.
The routes come from the application's own table (test_roles.calls), so a route added later
is walked too.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from api import keys
from api.runtime import Runtime
from ledger.database import Database
from ledger.settings import Environment, Settings
from tests.api.test_roles import calls, label, random_resources, send
from tests.support import AUTH_FAILURES_UNLIMITED

KEY_CACHE_TTL_S = 0.3
"""The bound under test, small so that the wait for it costs nothing."""


@pytest.fixture
def settings(database: Database) -> Settings:
    """The walk after revoking answers 401 on every route from one address: the answer under
    test is that 401, not the failed-key limit's 429 (test_key_checks.py)."""
    return Settings(
        database_url=database.url,
        environment=Environment.TEST,
        db_pool_size=4,
        auth_failures_per_minute=AUTH_FAILURES_UNLIMITED,
        key_cache_ttl_s=KEY_CACHE_TTL_S,
    )


def test_a_revoked_key_is_refused_on_every_route_once_the_cache_bound_has_passed(
    runtime: Runtime,
    client_for: Callable[[str | None], httpx.Client],
    make_key: Callable[..., str],
) -> None:
    with runtime.database.connect() as conn:
        key_id, key = keys.create_key(conn, keys.Role.ADMIN, label="to be revoked")
    revoked, other = client_for(key), client_for(make_key("admin"))
    nobody = random_resources()
    every = calls()
    assert len(every) >= 50  # the whole surface, not a part of it
    # Used on every route first: the key works, and this server remembers it.
    accepted = {label(call): send(revoked, call, nobody).status_code for call in every}
    assert {route: code for route, code in accepted.items() if code in (401, 403)} == {}

    with runtime.database.connect() as conn:
        assert keys.revoke(conn, key_id)
    # The key was last verified before now, so this server forgets it within the bound.
    time.sleep(KEY_CACHE_TTL_S)

    refused = {label(call): send(revoked, call, nobody) for call in every}
    not_refused = {
        route: response.status_code
        for route, response in refused.items()
        if (response.status_code, response.json().get("code")) != (401, "unauthorized")
    }
    assert not_refused == {}
    # Only that key: another admin key of the same server still answers.
    assert other.get("/v1/partners").status_code == 200
