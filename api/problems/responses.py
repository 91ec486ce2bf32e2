"""Building a problem response, how long one asks a client to wait, and noting its code."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from api.problems.model import PROBLEM_MEDIA_TYPE, STATUS_OF_REFUSAL, EdgeCode
from domain.errors import BillingError

RETRY_AFTER_BEHIND_S = 1
RETRY_AFTER_STOPPED_S = 60
"""A stopped read model needs a person (new code and a restart, or a rebuild): minutes."""
RETRY_AFTER_DATABASE_S = 1
"""A database restart takes seconds, and a process reconnects within one of its return
(ledger/availability.py): a client asked back a second later finds it, or is told again."""


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


def refusal_response(error: BillingError) -> JSONResponse:
    """The problem response of a business rule's refusal: its status, code and fields."""
    return _problem(
        STATUS_OF_REFUSAL[error.refusal],
        error.code,
        problem_title(error.code),
        error.detail,
        extra=error.fields,
    )


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


def problem_title(code: str) -> str:
    """The title a problem of this code carries when nothing more telling is at hand."""
    return code.replace("_", " ").capitalize()


def noted(request: Request, code: str) -> None:
    """Remember the problem's code: the metrics count outcomes by it."""
    request.state.problem_code = code


def database_unavailable(detail: str) -> JSONResponse:
    """503 `database_unavailable`: the database did not answer; retry (with the same key)."""
    return problem_response(
        503,
        EdgeCode.DATABASE_UNAVAILABLE,
        "Database unavailable",
        detail,
        headers={"Retry-After": str(RETRY_AFTER_DATABASE_S)},
    )
