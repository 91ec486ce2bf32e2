"""The shape of a problem (RFC 9457) and the stable codes it carries."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from domain.errors import BillingError, Refusal

PROBLEM_MEDIA_TYPE = "application/problem+json"

STATUS_OF_REFUSAL = {
    Refusal.INVALID: 422,
    Refusal.NOT_FOUND: 404,
    Refusal.CONFLICT: 409,
    Refusal.NOT_PERMITTED: 403,
}


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
    READ_MODEL_NEEDS_REBUILD = "read_model_needs_rebuild"
    PROJECTIONS_BEHIND = "projections_behind"
    BACKGROUND_NOT_RUNNING = "background_not_running"
    SERVICE_BUSY = "service_busy"
    READ_ONLY_INSTANCE = "read_only_instance"
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
