"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from importlib.metadata import version
from typing import Any

import anyio.to_thread
from fastapi import FastAPI

from api.body_limit import BodyLimitMiddleware
from api.key_limits import FailedKeyLimiter
from api.metrics import Metrics
from api.middleware import RequestContextMiddleware
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


def create_app(runtime: Runtime, *, close_runtime: bool = False) -> FastAPI:
    """Build the HTTP API over a started runtime; the caller closes it, unless `close_runtime`
    asks the app to close it when the server stops."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        use_handler_threads()
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
    # Inside the request context, so a refused body is logged and counted like any answer.
    app.add_middleware(BodyLimitMiddleware, max_bytes=runtime.settings.http_body_max_bytes)
    app.add_middleware(RequestContextMiddleware, metrics=app.state.metrics)
    return app


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
    app.include_router(operations.router)
    app.include_router(partners.router)
    app.include_router(partner_payments.router)
    app.include_router(partner_reads.router)
    app.include_router(partner_overview.router)
    app.include_router(partner_emails.router)
    app.include_router(partner_wallet.router)
    app.include_router(products.router)
    app.include_router(products.overrides_router)
    app.include_router(lines.router)
    app.include_router(clients.router)
    app.include_router(invoices.router)
    app.include_router(invoice_payments.router)
    app.include_router(closing_documents.router)
    app.include_router(policy.router)
    app.include_router(test_clocks.router)
    app.include_router(ledger.router)
    app.include_router(ledger.projections_router)
    app.include_router(audit_proofs.router)
    app.include_router(audit_history.router)
    return app
