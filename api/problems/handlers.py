"""Every error mapped to a problem response, once, for the whole app: a handler per kind of
error, and a middleware that answers any other with a bare 500."""

from __future__ import annotations

from typing import Any

import psycopg
import structlog
from eventsourcing import persistence
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from psycopg_pool import PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path
from starlette.types import Receive, Scope, Send

from api.key_limits import TooManyFailedKeys
from api.problems.model import EdgeCode
from api.problems.responses import (
    RETRY_AFTER_BEHIND_S,
    RETRY_AFTER_STOPPED_S,
    database_unavailable,
    noted,
    problem_response,
    problem_title,
    refusal_response,
)
from api.security import Forbidden, Unauthorized
from domain.errors import BillingError
from ledger.availability import DatabaseUnavailable, connection_lost
from projections.tracking import ProjectionBehind, ReadModelStopped
from replay.rebuild import ReadModelNeedsRebuild

log = structlog.get_logger(__name__)


async def _billing_error(request: Request, error: BillingError) -> JSONResponse:
    noted(request, error.code)
    return refusal_response(error)


async def _validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
    noted(request, EdgeCode.VALIDATION_FAILED)
    errors = [
        {"loc": list(item.get("loc", ())), "msg": item.get("msg", ""), "type": item.get("type", "")}
        for item in error.errors()
    ]
    return problem_response(
        422,
        EdgeCode.VALIDATION_FAILED,
        "Validation failed",
        "The request has invalid fields.",
        extra={"errors": errors},
    )


async def _http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
    code = {
        400: EdgeCode.MALFORMED_BODY,
        404: EdgeCode.NOT_FOUND,
        405: EdgeCode.METHOD_NOT_ALLOWED,
    }.get(error.status_code, EdgeCode.HTTP_ERROR)
    noted(request, code)
    detail = error.detail if isinstance(error.detail, str) else None
    headers = dict(error.headers or {})
    if error.status_code == 405:
        headers["Allow"] = ", ".join(_allowed_methods(request))
    return problem_response(error.status_code, code, problem_title(code), detail, headers=headers)


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route answers on this path (Starlette names only one route's)."""
    allowed: set[str] = set()
    for context in iter_route_contexts(request.app.routes):
        methods = getattr(context.original_route, "methods", None)
        if context.path and methods:
            path_regex, _, _ = compile_path(context.path)
            if path_regex.match(request.url.path):
                allowed.update(methods)
    return sorted(allowed)


async def _unauthorized(request: Request, _: Unauthorized) -> JSONResponse:
    noted(request, EdgeCode.UNAUTHORIZED)
    return problem_response(
        401,
        EdgeCode.UNAUTHORIZED,
        "Unauthorized",
        "Send a valid API key as `Authorization: Bearer ll_…` (see `ledgerline keys create`).",
        headers={"WWW-Authenticate": "Bearer"},
    )


async def _too_many_failed_keys(request: Request, error: TooManyFailedKeys) -> JSONResponse:
    noted(request, EdgeCode.TOO_MANY_FAILED_KEYS)
    return problem_response(
        429,
        EdgeCode.TOO_MANY_FAILED_KEYS,
        "Too many failed keys",
        "Too many requests from this address presented a missing, unknown or revoked key; "
        f"keys are not checked for it for {error.retry_after_s} s.",
        headers={"Retry-After": str(error.retry_after_s)},
    )


async def _forbidden(request: Request, error: Forbidden) -> JSONResponse:
    noted(request, EdgeCode.FORBIDDEN)
    return problem_response(403, EdgeCode.FORBIDDEN, "Forbidden", error.detail)


def _unavailable(
    request: Request,
    code: EdgeCode,
    title: str,
    error: Exception,
    retry_after_s: int,
    extra: dict[str, Any],
) -> JSONResponse:
    """A read that cannot be answered now (503): what holds it, and when to try again."""
    noted(request, code)
    return problem_response(
        503, code, title, str(error), headers={"Retry-After": str(retry_after_s)}, extra=extra
    )


async def _projection_behind(request: Request, error: ProjectionBehind) -> JSONResponse:
    return _unavailable(
        request,
        EdgeCode.PROJECTION_BEHIND,
        "Projection behind",
        error,
        RETRY_AFTER_BEHIND_S,
        {
            "projection": error.projection,
            "wanted_position": error.wanted,
            "reached_position": error.reached,
        },
    )


async def _read_model_needs_rebuild(request: Request, error: ReadModelNeedsRebuild) -> JSONResponse:
    return _unavailable(
        request,
        EdgeCode.READ_MODEL_NEEDS_REBUILD,
        "Read model needs a rebuild",
        error,
        RETRY_AFTER_STOPPED_S,
        {"projections": error.projections},
    )


async def _read_model_stopped(request: Request, error: ReadModelStopped) -> JSONResponse:
    return _unavailable(
        request,
        EdgeCode.READ_MODEL_STOPPED,
        "Read model stopped",
        error,
        RETRY_AFTER_STOPPED_S,
        {
            "projection": error.stop.projection,
            "wanted_position": error.wanted,
            "stopped_at_position": error.stop.position,
        },
    )


async def _database_error(request: Request, error: Exception) -> JSONResponse:
    """A lost database connection (or none to be had), from any part of the request: 503. A
    command it cut short may have landed or not; sent again with its key, it does so once."""
    if not connection_lost(error):
        # A statement the database refused (a timeout, say) is no outage: a plain 500.
        log.error("request_failed", error_type=type(error).__name__, exc_info=error)
        noted(request, EdgeCode.INTERNAL_ERROR)
        return problem_response(500, EdgeCode.INTERNAL_ERROR, "Internal server error")
    runtime = getattr(request.app.state, "runtime", None)
    if runtime is not None:
        runtime.ledger.health.failed(error)
    noted(request, EdgeCode.DATABASE_UNAVAILABLE)
    return database_unavailable(
        "The database did not answer. Try again later; a command sent again with the same "
        "Idempotency-Key takes effect once."
    )


async def _busy(request: Request, error: PoolTimeout) -> JSONResponse:
    runtime = getattr(request.app.state, "runtime", None)
    if runtime is not None and runtime.ledger.health.down:
        return await _database_error(request, error)
    noted(request, EdgeCode.SERVICE_BUSY)
    log.warning("database_pool_exhausted")
    return problem_response(
        503,
        EdgeCode.SERVICE_BUSY,
        "Service busy",
        "Every database connection is in use; try again in a moment.",
        headers={"Retry-After": "1"},
    )


async def answer_unexpected(scope: Scope, receive: Receive, send: Send) -> None:
    """Answer an error no handler knows with a bare 500 problem (api/middleware.py calls it,
    for an error before the response started, once it has logged the error)."""
    noted(Request(scope), EdgeCode.INTERNAL_ERROR)
    response = problem_response(500, EdgeCode.INTERNAL_ERROR, "Internal server error")
    await response(scope, receive, send)


def install_problem_handlers(app: FastAPI) -> None:
    """Map every error to a problem response, once, for the whole app."""
    # Starlette types handlers as taking any Exception; each of ours takes its own kind.
    handlers: list[tuple[type[Exception], Any]] = [
        (BillingError, _billing_error),
        (RequestValidationError, _validation_error),
        (Unauthorized, _unauthorized),
        (TooManyFailedKeys, _too_many_failed_keys),
        (Forbidden, _forbidden),
        (StarletteHTTPException, _http_error),
        (ProjectionBehind, _projection_behind),
        (ReadModelStopped, _read_model_stopped),
        (ReadModelNeedsRebuild, _read_model_needs_rebuild),
        (PoolTimeout, _busy),
        (DatabaseUnavailable, _database_error),
        (psycopg.OperationalError, _database_error),
        (psycopg.InterfaceError, _database_error),
        (persistence.OperationalError, _database_error),
        (persistence.InterfaceError, _database_error),
    ]
    for exception_class, handler in handlers:
        app.add_exception_handler(exception_class, handler)
