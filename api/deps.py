"""Dependencies the routers declare with `Annotated`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

import psycopg
from fastapi import Depends, Query, Request

from api.runtime import Runtime
from api.schemas import READ_WAIT_DEFAULT_MS, READ_WAIT_MAX_MS


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_read_connection(
    runtime: Annotated[Runtime, Depends(get_runtime)],
) -> Iterator[psycopg.Connection[Any]]:
    with runtime.read_pool.connection() as conn:
        yield conn


class ReadAfter:
    """The optional read-your-writes wait of a GET: a log position and how long to wait for it."""

    def __init__(
        self,
        min_position: Annotated[
            int | None,
            Query(ge=1, description="Wait until the read model has applied this log position."),
        ] = None,
        wait_ms: Annotated[
            int,
            Query(
                ge=0,
                le=READ_WAIT_MAX_MS,
                description="How long to wait for `min_position` before answering 503.",
            ),
        ] = READ_WAIT_DEFAULT_MS,
    ) -> None:
        self.min_position = min_position
        self.wait_s = wait_ms / 1000


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
ReadConnection = Annotated[psycopg.Connection[Any], Depends(get_read_connection)]
ReadAfterDep = Annotated[ReadAfter, Depends()]
