"""A read in one thread: the routers' plain functions that read the database run, with their
connection, in one crossing to a worker thread.

FastAPI runs a plain function's route in its thread pool, and every plain dependency in a
crossing of its own: a read took its connection in one crossing (the `ReadConnection`
generator), ran in a second, had its answer validated in a third (FastAPI validates a plain
function's answer in the pool too) and gave its connection back in a fourth. Each crossing costs
the event loop a capacity limiter, a queue, a future and a wake-up, and costs the read a wait
for the interpreter at each hand-over while the loop is busy: under load, most of what a read
cost was crossing (issue 16).

`LedgerRouter` turns each such route into a coroutine as it is declared (`in_one_thread`): the
coroutine takes everything the function declares but its connection, crosses once, takes a
connection from the read pool there, runs the function with it and gives the connection back;
its answer is validated on the loop, where a coroutine's is. The function is written as before,
a plain function with `conn: ReadConnection`, and the OpenAPI document does not change. The key
is checked before anything is read: `get_reads` depends on the caller, and a connection is only
taken in the crossing, once every dependency is solved.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Annotated, Any, get_args, get_type_hints

from fastapi import APIRouter, Depends
from fastapi.params import Depends as DependsParam
from psycopg import errors
from psycopg.pq import TransactionStatus
from starlette.concurrency import run_in_threadpool

from api.deps import RuntimeDep, get_read_connection
from api.runtime import Runtime
from api.security import Caller
from api.solver import LeanRoute
from replay.rebuild import ReadModelNeedsRebuild, status

READS_PARAMETER = "ledgerline_reads"
"""The parameter `in_one_thread` adds for `Reads` (a name no handler uses)."""


class Reads:
    """Runs a read with a connection from the read pool, in one crossing to a worker thread."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    async def run(self, handler: Callable[..., Any], values: dict[str, Any]) -> Any:
        return await run_in_threadpool(self._with_connection, handler, values)

    def _with_connection(self, handler: Callable[..., Any], values: dict[str, Any]) -> Any:
        with self._runtime.read_pool.connection() as conn:
            try:
                return handler(conn=conn, **values)
            except (errors.UndefinedTable, errors.UndefinedColumn) as error:
                if conn.info.transaction_status is TransactionStatus.INERROR:
                    conn.rollback()
                outdated = [model for model in status(conn) if model.needs_rebuild]
                if outdated:
                    raise ReadModelNeedsRebuild(outdated) from error
                raise


async def get_reads(runtime: RuntimeDep, _: Caller) -> Reads:
    """Reads for an authenticated caller only (a request with a bad key reads nothing)."""
    return Reads(runtime)


ReadsDep = Annotated[Reads, Depends(get_reads)]


def takes_read_connection(handler: Callable[..., Any]) -> bool:
    """Whether `handler` is a plain function that declares `conn: ReadConnection`."""
    if inspect.iscoroutinefunction(handler) or not inspect.isfunction(handler):
        return False
    hints = get_type_hints(handler, include_extras=True)
    return _is_read_connection(hints.get("conn"))


def _is_read_connection(annotation: Any) -> bool:
    return any(
        isinstance(meta, DependsParam) and meta.dependency is get_read_connection
        for meta in get_args(annotation)[1:]
    )


def in_one_thread(handler: Callable[..., Any]) -> Callable[..., Any]:
    """`handler`, a plain function reading through `conn: ReadConnection`, as a coroutine that
    runs it in one crossing to a worker thread with a connection taken there (see above). The
    coroutine has the handler's name, documentation and parameters but `conn`, plus `Reads`."""
    hints = get_type_hints(handler, include_extras=True)
    signature = inspect.signature(handler)
    parameters = [
        parameter.replace(annotation=hints.get(name, parameter.annotation))
        for name, parameter in signature.parameters.items()
        if name != "conn"
    ]
    parameters.append(
        inspect.Parameter(READS_PARAMETER, inspect.Parameter.KEYWORD_ONLY, annotation=ReadsDep)
    )

    async def endpoint(**values: Any) -> Any:
        reads: Reads = values.pop(READS_PARAMETER)
        return await reads.run(handler, values)

    # No `__wrapped__`: FastAPI unwraps a callable to tell whether it is a coroutine.
    endpoint.__name__ = handler.__name__
    endpoint.__qualname__ = handler.__qualname__
    endpoint.__doc__ = handler.__doc__
    endpoint.__module__ = handler.__module__
    endpoint.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=parameters,
        return_annotation=hints.get("return", inspect.Signature.empty),
    )
    return endpoint


class LedgerRouter(APIRouter):
    """FastAPI's router, declaring each plain function that reads with a `ReadConnection`
    `in_one_thread`, and each route a `LeanRoute` (api/solver.py)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("route_class", LeanRoute)
        super().__init__(**kwargs)

    def add_api_route(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if takes_read_connection(endpoint):
            endpoint = in_one_thread(endpoint)
        super().add_api_route(path, endpoint, **kwargs)
