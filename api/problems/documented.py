"""The problems of each route, as its OpenAPI entry lists them."""

from __future__ import annotations

from typing import Any

from api.problems.model import PROBLEM_MEDIA_TYPE, Problem

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


def _problem_entries(*statuses: int) -> dict[int | str, dict[str, Any]]:
    descriptions = {
        400: "The body is not JSON (`malformed_body`).",
        413: "The body is longer than the server takes (`body_too_large`; the limit is "
        "`limit_bytes`).",
        401: "No API key, or an unknown or revoked one (`unauthorized`).",
        403: "The key's role may not issue this command (`forbidden`).",
        404: "Not found, or not the calling partner's to see.",
        409: "The current state does not allow it (the `code` says which rule).",
        421: "This instance serves reads only (`read_only_instance`): send commands to the "
        "writing instance.",
        422: "Invalid input (`validation_failed` with `errors`, or a rule's `code`; "
        "`position_not_in_log` for a `min_position` past the end of the log).",
        429: "Too many failed key checks from this address (`too_many_failed_keys`); see "
        "`Retry-After`.",
        503: "The read model has not reached `min_position` in time (`projection_behind`), "
        "stopped before it at an event it cannot apply (`read_model_stopped`), "
        "built by an earlier version and not rebuilt since the upgrade "
        "(`read_model_needs_rebuild`), "
        "every database connection is busy (`service_busy`), or the database does not answer "
        "(`database_unavailable`; a command may be sent again with the same Idempotency-Key); "
        "see `Retry-After`.",
    }
    return {
        status: problem_entry(descriptions[status], retry_after=status in (429, 503))
        for status in statuses
    }


READ_PROBLEMS = _problem_entries(401, 404, 422, 429, 503)
"""The problems a GET may answer with, for its OpenAPI entry."""
COMMAND_PROBLEMS = _problem_entries(400, 401, 403, 404, 409, 413, 421, 422, 429, 503)
"""The problems a command (POST) may answer with, for its OpenAPI entry."""
