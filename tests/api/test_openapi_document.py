"""The OpenAPI document says what the API does (issue 12, item 4): readable unique operation
ids, every error an `application/problem+json` problem whose `code` is one of an enum of every
code the app can answer, the headers each answer carries, one tag per resource, unique schema
names; and its reference page, /docs, served by the app itself with no CDN.

The document checks read the document the code makes (no server); the /docs and header checks
go over real HTTP. The enum check builds the document in a fresh interpreter (about 1.5 s of
CPU): only there does it show which refusals a served app knows of.
"""

from __future__ import annotations

import ast
import importlib
import json
import pkgutil
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import openapi_document
from api.openapi import DOCS_ASSETS, SWAGGER_UI, TAGS
from api.problems.model import PROBLEM_MEDIA_TYPE, EdgeCode, refusal_classes
from api.security import bearer

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
PACKAGES = ("domain", "ledger", "projections", "replay", "api")


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return openapi_document()


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def test_operation_ids_are_the_handlers_names_and_unique(document: dict[str, Any]) -> None:
    ids = {(method, path): op["operationId"] for method, path, op in operations(document)}
    assert len(set(ids.values())) == len(ids)
    assert all(re.fullmatch(r"[a-z][a-z_]*[a-z]", op_id) for op_id in ids.values())
    assert not [op_id for op_id in ids.values() if "_v1_" in op_id]
    assert ids["POST", "/v1/invoices/{invoice_id}/payments"] == "pay_invoice"
    assert ids["POST", "/v1/partners/{partner_id}/autopay"] == "set_account_autopay"
    assert ids["POST", "/v1/lines/{line_id}/autopay"] == "set_line_autopay"


def test_every_error_answer_is_a_problem_json_with_the_problem_schema(
    document: dict[str, Any],
) -> None:
    errors = 0
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                errors += 1
                assert response["content"] == {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_REF}}, (
                    method,
                    path,
                    status,
                )
                assert response["description"], (method, path, status)
    assert errors > 300


def test_the_problem_code_enum_is_every_code_the_app_can_answer() -> None:
    """Every edge code and every refusal's code (a `BillingError` subclass anywhere in the
    packages, all imported here) is in the enum of a document made by a fresh interpreter that
    imports only the app, as a server does; and the enum holds nothing else."""
    for package in PACKAGES:
        for module in pkgutil.walk_packages(
            importlib.import_module(package).__path__, f"{package}."
        ):
            importlib.import_module(module.name)
    answerable = {*EdgeCode, *(refusal.code for refusal in refusal_classes())}
    fresh = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json; from api.app import openapi_document; "
            "print(json.dumps(openapi_document()['components']['schemas']['Problem']))",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    code = json.loads(fresh.stdout)["properties"]["code"]
    assert set(code["enum"]) == answerable
    assert {"position_not_in_log", "idempotency_key_reused", "body_too_large"} <= answerable


def test_no_problem_is_built_with_a_code_written_as_a_bare_string() -> None:
    """mypy holds `problem_response` to an `EdgeCode`; this holds the other builders (and
    `noted`, which the metrics count by) to no string literal either: a code written out by
    hand would answer outside the document's enum."""
    builders = {"problem_response", "_problem", "noted"}
    calls = 0
    for source in Path(importlib.import_module("api").__path__[0]).rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(), str(source))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in builders:
                calls += 1
                code = node.args[1]
                assert not isinstance(code, ast.Constant), f"{source.name}:{node.lineno}"
                if isinstance(code, ast.Attribute) and getattr(code.value, "id", "") == "EdgeCode":
                    assert code.attr in EdgeCode.__members__, f"{source.name}:{node.lineno}"
    assert calls > 20


def test_the_headers_each_answer_carries_are_declared(document: dict[str, Any]) -> None:
    created = 0
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            headers = response.get("headers", {})
            assert headers["X-Request-Id"]["required"], (method, path, status)
            if status == "201":
                created += 1
                assert method == "POST"
                assert headers["Location"]["required"], (method, path)
                assert "Idempotent-Replayed" in headers, (method, path)
                assert "Idempotency-Key" in response["description"], (method, path)
            if status in ("429", "503"):
                assert headers["Retry-After"]["required"], (method, path, status)
    assert created == sum(method == "POST" for method, _, _ in operations(document))


def test_r_x5_a_command_and_its_replay_send_the_declared_headers(http: httpx.Client) -> None:
    body = {"name": "Header Co", "currency": "USD", "time_zone": "Europe/Berlin"}
    first = http.post("/v1/partners", json=body, headers={"Idempotency-Key": "headers-1"})
    again = http.post("/v1/partners", json=body, headers={"Idempotency-Key": "headers-1"})
    assert first.status_code == again.status_code == 201
    assert first.headers["Location"] == again.headers["Location"]
    assert first.headers["Location"] == f"/v1/partners/{first.json()['id']}"
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.headers["X-Request-Id"] != again.headers["X-Request-Id"]


def test_each_operation_has_one_tag_of_one_resource(document: dict[str, Any]) -> None:
    declared = [tag["name"] for tag in document["tags"]]
    assert declared == [tag["name"] for tag in TAGS]
    used = set()
    for method, path, operation in operations(document):
        assert len(operation["tags"]) == 1, (method, path, operation["tags"])
        used.add(operation["tags"][0])
    assert used == set(declared)


def test_schema_names_are_unique(document: dict[str, Any]) -> None:
    """FastAPI names two models of one name by their modules (`api__routers__lines__…`), and
    a client generator then drops one of them with every operation that uses it."""
    names = list(document["components"]["schemas"])
    assert [name for name in names if "__" in name] == []
    assert {"AccountAutopayRequest", "LineAutopayRequest", "ClosingDocumentSummary"} <= set(names)


def test_docs_are_served_by_the_app_without_a_cdn(base_url: str) -> None:
    page = httpx.get(f"{base_url}/docs")
    assert page.status_code == 200
    assert "://" not in page.text
    assert '"validatorUrl": null' in page.text
    linked = set(re.findall(r'(?:src|href)="([^"]+)"', page.text))
    assert linked == {f"/docs/{name}" for name in DOCS_ASSETS}
    for name, media_type in DOCS_ASSETS.items():
        asset = httpx.get(f"{base_url}/docs/{name}")
        assert asset.status_code == 200, name
        assert asset.headers["Content-Type"] == media_type
        assert asset.content == (SWAGGER_UI / name).read_bytes()
    assert httpx.get(f"{base_url}/redoc").status_code == 404


def test_every_route_that_takes_a_key_declares_the_key_scheme(document: dict[str, Any]) -> None:
    """The key is read inside the role dependencies, not by an `HTTPBearer` dependency, so the
    document declares the scheme itself (issue 16): on every operation a key is needed for,
    and on no public one."""
    assert document["components"]["securitySchemes"]["ApiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": bearer.model.description,
    }
    secured = {
        (method, path)
        for method, path, operation in operations(document)
        if operation.get("security") == [{"ApiKey": []}]
    }
    public = {(method, path) for method, path, _ in operations(document)} - secured
    assert public == {("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics")}
    assert ("POST", "/v1/partners/{partner_id}/top-ups") in secured
    assert len(secured) > 80
