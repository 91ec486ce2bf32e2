"""The FastAPI application factory."""

from __future__ import annotations

from importlib.metadata import version

from fastapi import FastAPI

from api.middleware import RequestContextMiddleware
from api.problems import install_problem_handlers
from api.routers import partners
from api.runtime import Runtime

DESCRIPTION = """
Ledgerline is an event-sourced billing ledger for businesses that sell through partners.

Every command answers with the log `position` of its last event. Pass it to any GET as
`min_position` to read your own write: the GET waits (boundedly) until the read model has
applied it. Errors are `application/problem+json` (RFC 9457) with a stable `code`.
"""


def create_app(runtime: Runtime) -> FastAPI:
    """Build the HTTP API over a started runtime (the caller starts and closes it)."""
    app = FastAPI(
        title="Ledgerline",
        version=version("ledgerline"),
        description=DESCRIPTION,
    )
    app.state.runtime = runtime
    install_problem_handlers(app)
    app.add_middleware(RequestContextMiddleware)
    app.include_router(partners.router)
    return app
