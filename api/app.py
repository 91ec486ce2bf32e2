"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from importlib.metadata import version
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from api import interpreter
from api.key_limits import FailedKeyLimiter
from api.metrics import Metrics
from api.middleware import EdgeMiddleware
from api.openapi import TAGS, DocumentedAPI, install_docs, operation_id
from api.problems.handlers import install_problem_handlers
from api.routers import (
    audit_history,
    audit_proofs,
    clients,
    closing_documents,
    invoice_payments,
    invoices,
    ledger,
    line_cards,
    line_leads,
    line_transfers,
    lines,
    operations,
    partner_emails,
    partner_overview,
    partner_payments,
    partner_reads,
    partner_wallet,
    partners,
    policy,
    products,
    test_clocks,
)
from api.runtime import Runtime
from api.security import Keyring

DESCRIPTION = """
Ledgerline is an event-sourced billing ledger for businesses that sell through partners.

**Keys.** Every `/v1` call carries an API key, `Authorization: Bearer ll_…`, made with
`ledgerline keys create --role admin|partner|finance|auditor [--partner ID]`. An `admin` key
(the vendor) does everything; a `partner` key sees and changes only its own partner's
resources (another partner's ids answer 404); `finance` and `auditor` keys read everything and
issue no commands (403). Failed key checks are limited per client address: beyond the
allowance, 429 `too_many_failed_keys` with `Retry-After`.

**Commands** are POSTs. Each needs an `Idempotency-Key` header: a retry with the same key and
body answers as the first time (with `Idempotent-Replayed: true`) and writes nothing; the same
key with another body is refused with `idempotency_key_reused`. A command answers 201 with a
`Location` and the log `position` of its last event.

**Reads** are GETs. Pass a command's `position` as `min_position` to read your own write: the
GET waits (boundedly, `wait_ms`) until the read model has applied it, or answers 503
`projection_behind`. Lists are pages: follow `next_cursor` until it is null.

**Money** is `{"amount_minor": 3900, "currency": "USD"}`: integer minor units, never floats.
**Errors** are `application/problem+json` (RFC 9457) with a stable `code`.
"""


HANDLER_THREADS = 256
"""Threads for handlers (FastAPI runs plain functions in a pool, 40 threads by default): a
command's handler waits in its thread until its batch commits, and group commit needs many
commands waiting at once to write large batches."""


def use_handler_threads() -> None:
    """Give the running event loop's thread pools HANDLER_THREADS threads (at start-up):
    anyio's, which runs plain handlers (reads), and asyncio's default executor, which runs what
    a coroutine handler hands to a thread with `asyncio.to_thread` (a card tokenised and the
    charges after it, autopay's charge after an invoice is issued: each waits on the payment
    processor). The latter has min(32, cores + 4) threads by default: 6 on two cores."""
    anyio.to_thread.current_default_thread_limiter().total_tokens = HANDLER_THREADS
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(HANDLER_THREADS, thread_name_prefix="handler")
    )


def create_app(
    runtime: Runtime, *, close_runtime: bool = False, settle_interpreter: bool = False
) -> FastAPI:
    """Build the HTTP API over a started runtime; the caller closes it, unless `close_runtime`
    asks the app to close it when the server stops. A process that serves and does nothing
    else (`ledgerline serve`, its workers) asks to `settle_interpreter` as the server starts
    (api/interpreter.py); a test process serving one app after another does not."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        use_handler_threads()
        if settle_interpreter:
            interpreter.settle()
        try:
            yield
        finally:
            if close_runtime:
                runtime.close()

    app = _routes()
    app.router.lifespan_context = lifespan
    app.state.runtime = runtime
    app.state.keyring = Keyring(runtime)
    app.state.failed_keys = FailedKeyLimiter(runtime.settings.auth_failures_per_minute)
    app.state.metrics = Metrics(runtime)
    app.add_middleware(
        EdgeMiddleware,
        max_body_bytes=runtime.settings.http_body_max_bytes,
        metrics=app.state.metrics,
        reads_only=runtime.settings.reads_only,
    )
    return app


def add_routes(app: FastAPI, router: APIRouter) -> None:
    """Add a router's routes to the app's own list, where FastAPI's `include_router` would
    keep the router as a branch to search: every request walked each branch's candidates
    and built its route context, about a tenth of a command's time on the event loop
    (issue 16). The routers say their routes' whole paths and tags themselves (their
    `prefix` and `tags`); each route's operation id is made as the app makes its own."""
    for route in router.routes:
        if isinstance(route, APIRoute):
            route.unique_id = route.operation_id or operation_id(route)
        app.router.routes.append(route)


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document: a property of the code, the same as a server's /openapi.json."""
    return _routes().openapi()


def _routes() -> FastAPI:
    app = DocumentedAPI(
        title="Ledgerline",
        version=version("ledgerline"),
        description=DESCRIPTION,
        openapi_tags=TAGS,
        generate_unique_id_function=operation_id,
        # /docs is served by install_docs from files shipped with the package; ReDoc would
        # load from a CDN, so there is none.
        docs_url=None,
        redoc_url=None,
    )
    install_docs(app)
    install_problem_handlers(app)
    for router in (
        operations.router,
        partners.router,
        partner_payments.router,
        partner_reads.router,
        partner_overview.router,
        partner_emails.router,
        partner_wallet.router,
        products.router,
        products.overrides_router,
        lines.router,
        line_cards.router,
        line_leads.router,
        line_transfers.router,
        clients.router,
        invoices.router,
        invoice_payments.router,
        closing_documents.router,
        policy.router,
        test_clocks.router,
        ledger.router,
        ledger.projections_router,
        audit_proofs.router,
        audit_history.router,
    ):
        add_routes(app, router)
    return app
