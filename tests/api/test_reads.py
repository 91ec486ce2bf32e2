"""A plain read runs in one thread with its connection (api/reads.py, issue 16): the routers
write reads as plain functions taking `conn: ReadConnection`, and `LedgerRouter` declares each
as a coroutine that crosses to a worker thread once. Checked on the routes the app serves (no
server: the HTTP behaviour of every read is the other API tests')."""

from __future__ import annotations

import asyncio
import inspect
import threading
from typing import Annotated, Any

import psycopg
from fastapi.routing import APIRoute

from api.app import _routes
from api.deps import ReadConnection, get_read_connection
from api.reads import READS_PARAMETER, LedgerRouter, Reads, get_reads, in_one_thread
from api.runtime import Runtime
from api.security import dependency_calls


def test_every_plain_read_is_served_by_a_coroutine_that_crosses_once() -> None:
    routes = [route for route in _routes().router.routes if isinstance(route, APIRoute)]
    converted = [
        route for route in routes if READS_PARAMETER in inspect.signature(route.endpoint).parameters
    ]
    assert len(converted) > 30
    for route in converted:
        assert inspect.iscoroutinefunction(route.endpoint), route.path
        calls = set(dependency_calls(route.dependant))
        assert get_reads in calls, route.path
        assert get_read_connection not in calls, route.path  # no crossing of its own
    # No route holds a read connection as a dependency, for the whole of its request: a
    # coroutine that reads asks `Reads` for one crossing with a connection.
    assert not [
        route.path for route in routes if get_read_connection in dependency_calls(route.dependant)
    ]


def test_the_read_keeps_its_name_documentation_and_parameters_but_its_connection() -> None:
    def get_thing(thing_id: int, conn: ReadConnection, verbose: bool = False) -> dict[str, int]:
        """Read a thing."""
        return {"thing_id": thing_id}

    endpoint = in_one_thread(get_thing)
    signature = inspect.signature(endpoint)
    assert (endpoint.__name__, endpoint.__doc__) == ("get_thing", "Read a thing.")
    assert list(signature.parameters) == ["thing_id", "verbose", READS_PARAMETER]
    assert signature.parameters["verbose"].default is False
    assert signature.return_annotation == dict[str, int]
    router = LedgerRouter()
    router.add_api_route("/things/{thing_id}", get_thing)
    [route] = router.routes
    assert isinstance(route, APIRoute)
    assert inspect.iscoroutinefunction(route.endpoint)


def test_the_connection_is_taken_and_used_in_the_one_thread(runtime: Runtime) -> None:
    seen: dict[str, Any] = {}

    def read(conn: Annotated[psycopg.Connection[Any], "a connection"], value: int) -> int:
        seen["thread"] = threading.get_ident()
        row = conn.execute("SELECT %s::int + 1", (value,)).fetchone()
        assert row is not None
        return int(row[0])

    assert asyncio.run(Reads(runtime).run(read, {"value": 41})) == 42
    assert seen["thread"] != threading.get_ident()
