"""RFC 9457 problem responses: every error leaves the API as `application/problem+json`."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.errors import BillingError, Refusal
from projections.tracking import ProjectionBehind

PROBLEM_MEDIA_TYPE = "application/problem+json"
RETRY_AFTER_BEHIND_S = 1

STATUS_OF_REFUSAL = {Refusal.INVALID: 422, Refusal.NOT_FOUND: 404, Refusal.CONFLICT: 409}

log = structlog.get_logger(__name__)


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
    code: str = Field(description="Stable snake_case code; match on this, not on the text.")
    detail: str | None = None
    errors: list[FieldError] | None = Field(
        default=None, description="For validation problems: each failing field."
    )


def problem_response(
    status: int,
    code: str,
    title: str,
    detail: str | None = None,
    *,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    """Build a problem response; `extra` holds the extension members."""
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


async def _billing_error(_: Request, error: BillingError) -> JSONResponse:
    return problem_response(
        STATUS_OF_REFUSAL[error.refusal],
        error.code,
        _title(error.code),
        error.detail,
        extra=error.fields,
    )


async def _validation_error(_: Request, error: RequestValidationError) -> JSONResponse:
    errors = [
        {"loc": list(item.get("loc", ())), "msg": item.get("msg", ""), "type": item.get("type", "")}
        for item in error.errors()
    ]
    return problem_response(
        422,
        "validation_failed",
        "Validation failed",
        "The request has invalid fields.",
        extra={"errors": errors},
    )


async def _http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
    code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
    detail = error.detail if isinstance(error.detail, str) else None
    return problem_response(
        error.status_code, code, _title(code), detail, headers=dict(error.headers or {})
    )


async def _projection_behind(_: Request, error: ProjectionBehind) -> JSONResponse:
    return problem_response(
        503,
        "projection_behind",
        "Projection behind",
        str(error),
        headers={"Retry-After": str(RETRY_AFTER_BEHIND_S)},
        extra={
            "projection": error.projection,
            "wanted_position": error.wanted,
            "reached_position": error.reached,
        },
    )


async def _unexpected(_: Request, error: Exception) -> JSONResponse:
    log.exception("request_failed", error_type=type(error).__name__)
    return problem_response(500, "internal_error", "Internal server error")


def install_problem_handlers(app: FastAPI) -> None:
    """Map every error to a problem response, once, for the whole app."""
    # Starlette types handlers as taking any Exception; each of ours takes its own kind.
    handlers: list[tuple[type[Exception], Any]] = [
        (BillingError, _billing_error),
        (RequestValidationError, _validation_error),
        (StarletteHTTPException, _http_error),
        (ProjectionBehind, _projection_behind),
        (Exception, _unexpected),
    ]
    for exception_class, handler in handlers:
        app.add_exception_handler(exception_class, handler)
