"""RFC 9457 problem responses: every error leaves the API as `application/problem+json`."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import psycopg
import structlog
from eventsourcing import persistence
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from psycopg_pool import PoolTimeout
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.key_limits import TooManyFailedKeys
from api.security import Forbidden, Unauthorized
from domain.errors import BillingError, Refusal
from ledger.availability import DatabaseUnavailable, connection_lost
from projections.tracking import ProjectionBehind, ReadModelStopped

PROBLEM_MEDIA_TYPE = "application/problem+json"
RETRY_AFTER_BEHIND_S = 1
RETRY_AFTER_STOPPED_S = 60
"""A stopped read model needs a person (new code and a restart, or a rebuild): minutes."""
RETRY_AFTER_DATABASE_S = 1
"""A database restart takes seconds, and a process reconnects within one of its return
(ledger/availability.py): a client asked back a second later finds it, or is told again."""

STATUS_OF_REFUSAL = {Refusal.INVALID: 422, Refusal.NOT_FOUND: 404, Refusal.CONFLICT: 409}

log = structlog.get_logger(__name__)


class EdgeCode(StrEnum):
    """The codes of the problems the HTTP edge answers itself, besides every business rule's
    (a `BillingError` subclass's `code`): one list, which the OpenAPI document's enum of
    codes is made from, and which `problem_response` takes its code from."""

    VALIDATION_FAILED = "validation_failed"
    MALFORMED_BODY = "malformed_body"
    BODY_TOO_LARGE = "body_too_large"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    HTTP_ERROR = "http_error"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    TOO_MANY_FAILED_KEYS = "too_many_failed_keys"
    PROJECTION_BEHIND = "projection_behind"
    READ_MODEL_STOPPED = "read_model_stopped"
    PROJECTIONS_BEHIND = "projections_behind"
    BACKGROUND_NOT_RUNNING = "background_not_running"
    SERVICE_BUSY = "service_busy"
    DATABASE_UNAVAILABLE = "database_unavailable"
    INTERNAL_ERROR = "internal_error"


def refusal_classes(cls: type[BillingError] = BillingError) -> list[type[BillingError]]:
    """`cls` and every subclass of it, depth first: each refusal a command or query can
    answer with (those of the modules imported so far: the app imports them all)."""
    found: list[type[BillingError]] = [cls]
    for sub in cls.__subclasses__():
        found += refusal_classes(sub)
    return found


def problem_codes() -> list[str]:
    """Every `code` a problem of this API can carry, sorted: the edge's and every rule's."""
    return sorted({*EdgeCode, *(refusal.code for refusal in refusal_classes())})


def _code_enum(schema: dict[str, Any]) -> None:
    # Computed when the document is made, not at import: by then every module that defines a
    # refusal has been imported.
    schema["enum"] = problem_codes()


class FieldError(BaseModel):
    """One input field that failed validation."""

    loc: list[str | int] = Field(description="Where the field is: body, query or path, then names.")
    msg: str
    type: str


class Problem(BaseModel):
    """An error, as RFC 9457 describes it, with Ledgerline's stable `code`."""

    type: str = Field(description="A URI naming the kind of problem.")
    title: str
    status: int
    code: str = Field(
        description="Stable snake_case code; match on this, not on the text.",
        json_schema_extra=_code_enum,
    )
    detail: str | None = None
    errors: list[FieldError] | None = Field(
        default=None, description="For validation problems: each failing field."
    )


def problem_response(
    status: int,
    code: EdgeCode,
    title: str,
    detail: str | None = None,
    *,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    """Build a problem response of the edge's own; `extra` holds the extension members."""
    return _problem(status, code, title, detail, headers=headers, extra=extra)


def _problem(
    status: int,
    code: str,
    title: str,
    detail: str | None = None,
    *,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:ledgerline:problem:{code}",
        "title": title,
        "status": status,
        "code": code,
    }
    if detail is not None:
        body["detail"] = detail
    for key, value in (extra or {}).items():
        if value is not None and key not in body:
            body[key] = value
    return JSONResponse(
        jsonable_encoder(body), status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE
    )


def _title(code: str) -> str:
    return code.replace("_", " ").capitalize()


def noted(request: Request, code: str) -> None:
    """Remember the problem's code: the metrics count outcomes by it."""
    request.state.problem_code = code


async def _billing_error(request: Request, error: BillingError) -> JSONResponse:
    noted(request, error.code)
    return _problem(
        STATUS_OF_REFUSAL[error.refusal],
        error.code,
        _title(error.code),
        error.detail,
        extra=error.fields,
    )


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
    return problem_response(error.status_code, code, _title(code), detail, headers=headers)


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


async def _projection_behind(request: Request, error: ProjectionBehind) -> JSONResponse:
    noted(request, EdgeCode.PROJECTION_BEHIND)
    return problem_response(
        503,
        EdgeCode.PROJECTION_BEHIND,
        "Projection behind",
        str(error),
        headers={"Retry-After": str(RETRY_AFTER_BEHIND_S)},
        extra={
            "projection": error.projection,
            "wanted_position": error.wanted,
            "reached_position": error.reached,
        },
    )


async def _read_model_stopped(request: Request, error: ReadModelStopped) -> JSONResponse:
    noted(request, EdgeCode.READ_MODEL_STOPPED)
    return problem_response(
        503,
        EdgeCode.READ_MODEL_STOPPED,
        "Read model stopped",
        str(error),
        headers={"Retry-After": str(RETRY_AFTER_STOPPED_S)},
        extra={
            "projection": error.stop.projection,
            "wanted_position": error.wanted,
            "stopped_at_position": error.stop.position,
        },
    )


def database_unavailable(detail: str) -> JSONResponse:
    """503 `database_unavailable`: the database did not answer; retry (with the same key)."""
    return problem_response(
        503,
        EdgeCode.DATABASE_UNAVAILABLE,
        "Database unavailable",
        detail,
        headers={"Retry-After": str(RETRY_AFTER_DATABASE_S)},
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


class UnexpectedErrorMiddleware:
    """Answer an error no handler knows with a bare 500 problem, and keep the connection.

    Starlette's own last-resort handler sends the 500 and then raises the error again, for
    the server to see; uvicorn then closes the connection, so a client's next request on the
    same keep-alive connection is reset. Here the error ends at the 500 it is logged with. An
    error after the response has started still reaches the server: that connection cannot
    carry another response.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_noting_start(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_noting_start)
        except Exception as error:
            log.exception("request_failed", error_type=type(error).__name__)
            if started:
                raise
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
        (PoolTimeout, _busy),
        (DatabaseUnavailable, _database_error),
        (psycopg.OperationalError, _database_error),
        (psycopg.InterfaceError, _database_error),
        (persistence.OperationalError, _database_error),
        (persistence.InterfaceError, _database_error),
    ]
    for exception_class, handler in handlers:
        app.add_exception_handler(exception_class, handler)
    # Added first, so it sits inside every middleware added later (the request's log line and
    # metrics see its 500).
    app.add_middleware(UnexpectedErrorMiddleware)


RETRY_AFTER_HEADER: dict[str, Any] = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    }
}
"""The `Retry-After` header of every 429 and 503 problem, for the OpenAPI document."""


def problem_entry(description: str, *, retry_after: bool = False) -> dict[str, Any]:
    """An OpenAPI response entry of `application/problem+json` problems (api/openapi.py moves
    the `Problem` schema FastAPI puts under `application/json` to that media type)."""
    entry: dict[str, Any] = {
        "model": Problem,
        "content": {PROBLEM_MEDIA_TYPE: {}},
        "description": description,
    }
    if retry_after:
        entry["headers"] = RETRY_AFTER_HEADER
    return entry


def _documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    descriptions = {
        400: "The body is not JSON (`malformed_body`).",
        413: "The body is longer than the server takes (`body_too_large`; the limit is "
        "`limit_bytes`).",
        401: "No API key, or an unknown or revoked one (`unauthorized`).",
        403: "The key's role may not issue this command (`forbidden`).",
        404: "Not found, or not the calling partner's to see.",
        409: "The current state does not allow it (the `code` says which rule).",
        422: "Invalid input (`validation_failed` with `errors`, or a rule's `code`; "
        "`position_not_in_log` for a `min_position` past the end of the log).",
        429: "Too many failed key checks from this address (`too_many_failed_keys`); see "
        "`Retry-After`.",
        503: "The read model has not reached `min_position` in time (`projection_behind`), "
        "stopped before it at an event it cannot apply (`read_model_stopped`), "
        "every database connection is busy (`service_busy`), or the database does not answer "
        "(`database_unavailable`; a command may be sent again with the same Idempotency-Key); "
        "see `Retry-After`.",
    }
    return {
        status: problem_entry(descriptions[status], retry_after=status in (429, 503))
        for status in statuses
    }


READ_PROBLEMS = _documented(401, 404, 422, 429, 503)
"""The problems a GET may answer with, for its OpenAPI entry."""
COMMAND_PROBLEMS = _documented(400, 401, 403, 404, 409, 413, 422, 429, 503)
"""The problems a command (POST) may answer with, for its OpenAPI entry."""
