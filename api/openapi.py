"""The OpenAPI document as a contract, and its reference page served without a CDN.

FastAPI writes most of the document from the routes; this module finishes what it cannot say
from them: readable operation ids, problems under their own media type, the headers every
answer carries, one tag per resource, and `/docs` from files shipped with the package.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.routing import APIRoute
from starlette.responses import FileResponse, HTMLResponse
from starlette.routing import BaseRoute

from api.problems.model import PROBLEM_MEDIA_TYPE
from api.schemas.common import COMMAND_ANSWER
from api.security import Access, access, bearer

TAGS: list[dict[str, Any]] = [
    {"name": "partners", "description": "Partner accounts: money in, clients, their reads."},
    {"name": "clients", "description": "A partner's clients."},
    {"name": "lines", "description": "Subscription lines: their life, leads and transfers."},
    {"name": "invoices", "description": "Invoices: payments, refunds, voids, credit notes."},
    {"name": "catalogue", "description": "Products and their prices as history."},
    {"name": "closing documents", "description": "Acts of completed work for paid invoices."},
    {
        "name": "policy",
        "description": "The billing policy's rates and periods: its versions, and changes.",
    },
    {
        "name": "test clocks",
        "description": "Clocks of their own for test partners, advanced over the API; not in "
        "production unless allowed.",
    },
    {"name": "ledger", "description": "The ledger as a whole: the trial balance."},
    {"name": "projections", "description": "The read models' progress and stops."},
    {
        "name": "audit",
        "description": "For auditors: any partner as it stood at a moment, who did what, "
        "and proof the log was not altered.",
    },
    {"name": "operations", "description": "Liveness, readiness and metrics; no key."},
]
"""One tag per resource, in the order the reference page shows them."""

REQUEST_ID_HEADER: dict[str, Any] = {
    "X-Request-Id": {
        "description": "This request's id, in every log line about it: quote it when "
        "reporting a problem.",
        "required": True,
        "schema": {"type": "string"},
    }
}
"""Sent with every answer (api/middleware.py)."""

SWAGGER_UI = Path(__file__).parent / "static" / "swagger-ui"
"""Swagger UI's files, vendored from swagger-ui-dist (see the README there)."""
DOCS_PATH = "/docs"
DOCS_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}


def operation_id(route: APIRoute) -> str:
    """An operation's id is its handler's name (`pay_invoice`): what a generated client calls
    its function. tests/api/test_openapi_document.py holds them unique."""
    return route.name


class DocumentedAPI(FastAPI):
    """FastAPI, with the document finished by `finish_document`."""

    def openapi(self) -> dict[str, Any]:
        # FastAPI caches the document (and makes it again when the routes change); finishing
        # is idempotent, so the cached one is finished again in place, in well under 1 ms.
        return declare_keys(finish_document(super().openapi()), self.routes)


def finish_document(document: dict[str, Any]) -> dict[str, Any]:
    """Say what FastAPI cannot: problems are `application/problem+json` with the `Problem`
    schema (FastAPI puts a response model's schema under the route's own media type,
    `application/json`, and leaves the declared one empty); every answer carries
    `X-Request-Id`; every 201 is a command's answer, with `Location` and
    `Idempotent-Replayed`."""
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if PROBLEM_MEDIA_TYPE in content and "application/json" in content:
                    content[PROBLEM_MEDIA_TYPE] = content.pop("application/json")
                if status == "201":
                    response["description"] = COMMAND_ANSWER["description"]
                    response.setdefault("headers", {}).update(COMMAND_ANSWER["headers"])
                response.setdefault("headers", {}).update(REQUEST_ID_HEADER)
    return document


def declare_keys(document: dict[str, Any], routes: list[BaseRoute]) -> dict[str, Any]:
    """Declare the API key scheme, and that every route which takes a key needs one.

    The key is read by `api.security.authenticated`, not by FastAPI's `HTTPBearer` as a
    dependency (one dependency fewer to solve on every request), so the document says here
    what the dependency used to say: the same scheme, on the same operations (`access`)."""
    document.setdefault("components", {}).setdefault("securitySchemes", {})[bearer.scheme_name] = (
        bearer.model.model_dump(mode="json", by_alias=True, exclude_none=True)
    )
    for route in routes:
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        if access(route) is Access.PUBLIC:
            continue
        path_item = document["paths"].get(route.path_format, {})
        for method in route.methods or ():
            operation = path_item.get(method.lower())
            if operation is not None:
                operation["security"] = [{bearer.scheme_name: []}]
    return document


def install_docs(app: FastAPI) -> None:
    """Serve Swagger UI at /docs from the vendored files: no request leaves for a CDN."""

    async def docs(_: Request) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} - API reference",
            swagger_js_url=f"{DOCS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_PATH}/favicon-32x32.png",
            # Swagger UI would otherwise show a badge fetched from validator.swagger.io, with
            # this server's document URL in it, for every reader of a non-local server.
            swagger_ui_parameters={"validatorUrl": None},
        )

    app.add_route(DOCS_PATH, docs, methods=["GET"], include_in_schema=False)
    for name, media_type in DOCS_ASSETS.items():
        app.add_route(
            f"{DOCS_PATH}/{name}",
            _asset(name, media_type),
            methods=["GET"],
            include_in_schema=False,
        )


def _asset(name: str, media_type: str) -> Any:
    path = SWAGGER_UI / name

    async def asset(_: Request) -> FileResponse:
        # The files change only with a release: a day in a browser's cache is safe.
        return FileResponse(path, media_type=media_type, headers={"Cache-Control": "max-age=86400"})

    return asset
