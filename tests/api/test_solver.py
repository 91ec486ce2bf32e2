"""A route's request solved by its plan answers as FastAPI's own handler would (api/solver.py,
issue 16): the same status, problem code and errors for good and bad requests, over real HTTP.

The plan gives way to FastAPI's handler while the app has dependency overrides, so the same
server answers each request both ways: first by the plans, then, with an override of nothing
in place, by FastAPI. Every request is one a client can send: a command and a read that work,
and the mistakes in each part a plan solves (the key, the path, the idempotency key, the
query, the body's bytes, JSON and fields), alone and together (a body is read before the key
is checked, so a broken body is refused before a bad key), and a command sent again under its
idempotency key, answered as the first time (R-X5). 31 requests each way: well under a second.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from api.app import _routes
from api.runtime import Runtime
from api.solver import LeanRoute, Plan
from tests.support import SwitchedApp, caught_up

Sent = tuple[str, str, dict[str, str], bytes | None]

LOG_POSITION = re.compile(r"at \d+")
UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


COMPARED_HEADERS = ("content-type", "location", "retry-after", "idempotent-replayed", "allow")
"""The headers an answer is compared by (its request id and date differ by request)."""


def _nothing() -> None:
    """A dependency no route has: overriding it changes nothing but the handler."""


def test_r_x5_a_plan_answers_every_request_as_fastapis_own_handler(
    runtime: Runtime,
    base_url: str,
    http_server: tuple[SwitchedApp, str],
    make_key: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    switch, _ = http_server
    app = switch.app
    assert isinstance(app, FastAPI)
    planned_runs = _counting_plan_runs(monkeypatch)
    with httpx.Client(base_url=base_url, timeout=10.0) as http:
        # Each phase has partners, keys and idempotency keys of its own: the same requests
        # meet the same state.
        plans_keys, plans_requests = _world(runtime, make_key)
        by_plans = _answers(http, runtime, plans_keys, plans_requests, "plans")
        assert planned_runs == [len(plans_requests)]  # every request here has a plan
        fastapi_keys, fastapi_requests = _world(runtime, make_key)
        app.dependency_overrides[_nothing] = _nothing
        try:
            by_fastapi = _answers(http, runtime, fastapi_keys, fastapi_requests, "fastapi")
        finally:
            app.dependency_overrides.clear()
        assert planned_runs == [len(plans_requests)]  # and none the second time
    in_order = sorted(plans_requests, key=lambda sent: sent[0] != "POST")  # as `_answers` sends
    for request, planned, general in zip(in_order, by_plans, by_fastapi, strict=True):
        assert planned == general, request
    statuses = {status for status, *_ in by_plans}
    # The requests reach every kind of answer: a wrong request cannot pass as a right one.
    assert {200, 201, 400, 401, 403, 404, 422} <= statuses
    assert any(headers["idempotent-replayed"] == "true" for _, headers, _ in by_plans)  # R-X5


def test_the_hot_routes_answer_with_plans_and_the_rest_with_fastapi() -> None:
    routes = [route for route in _routes().router.routes if isinstance(route, APIRoute)]
    lean = {
        (method, route.path)
        for route in routes
        if isinstance(route, LeanRoute) and route.plan is not None
        for method in route.methods or ()
    }
    assert {
        ("POST", "/v1/partners/{partner_id}/top-ups"),
        ("POST", "/v1/partners/{partner_id}/clients"),
        ("POST", "/v1/partners"),
        ("POST", "/v1/lines"),
        ("GET", "/v1/partners/{partner_id}/balance"),
        ("GET", "/v1/partners/{partner_id}/banner"),
        ("GET", "/healthz"),
    } <= lean
    general = {(method, route.path) for route in routes for method in route.methods or ()} - lean
    # Plain functions (FastAPI runs them in its thread pool), answers of their own class
    # (a PDF, the Prometheus text): FastAPI's handler answers them.
    assert general == {
        ("GET", "/readyz"),
        ("GET", "/metrics"),
        ("GET", "/v1/partners/{partner_id}/payment-methods"),
        ("GET", "/v1/lines/{line_id}"),
        ("GET", "/v1/invoices/{invoice_id}/pdf"),
        ("GET", "/v1/closing-documents/{document_id}/pdf"),
    }


def _world(runtime: Runtime, make_key: Callable[..., str]) -> tuple[dict[str, str], list[Sent]]:
    """Two partners, keys of each role, and the requests to send about them."""
    partner = runtime.ledger.open_partner_account(name="P", currency="USD", time_zone="UTC")
    other = runtime.ledger.open_partner_account(name="Q", currency="USD", time_zone="UTC")
    assert partner.aggregate_id is not None
    assert other.aggregate_id is not None
    keys = {
        "admin": make_key("admin"),
        "finance": make_key("finance"),
        "partner": make_key("partner", partner.aggregate_id),
    }
    return keys, _requests(partner.aggregate_id, other.aggregate_id)


def _counting_plan_runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many requests plans answer from now on (the plans themselves unchanged)."""
    runs = [0]
    run = Plan.run

    async def counted(plan: Plan, request: Request) -> Response:
        runs[0] += 1
        return await run(plan, request)

    monkeypatch.setattr(Plan, "run", counted)
    return runs


def _requests(partner: UUID, other: UUID) -> list[Sent]:
    top_ups = f"/v1/partners/{partner}/top-ups"
    good = b'{"amount": {"amount_minor": 1500, "currency": "USD"}, "source": "bank_transfer"}'
    json_type = {"content-type": "application/json"}
    keyed = {**json_type, "idempotency-key": "same"}
    return [
        ("GET", "/healthz", {}, None),
        ("POST", top_ups, keyed, good),
        ("POST", top_ups, {**keyed, "idempotency-key": ""}, good),
        ("POST", top_ups, json_type, good),
        ("POST", top_ups, {**keyed, "key": "none"}, good),
        ("POST", top_ups, {**keyed, "key": "bad"}, good),
        ("POST", top_ups, {**keyed, "key": "bad"}, b"{"),
        ("POST", top_ups, {**keyed, "key": "finance"}, good),
        ("POST", top_ups, keyed, b"{"),
        ("POST", top_ups, keyed, b""),
        ("POST", top_ups, keyed, b"[" * 100_000 + b"]" * 100_000),
        ("POST", top_ups, keyed, b'{"amount": {"amount_minor": -1, "currency": "USD"}}'),
        ("POST", top_ups, keyed, b'{"amount": 1, "source": "gold", "extra": true}'),
        ("POST", top_ups, {**keyed, "content-type": "text/plain"}, good),
        ("POST", top_ups, {"idempotency-key": "bare"}, good),
        ("POST", top_ups, {**keyed, "content-type": "application/problem+json"}, good),
        ("POST", "/v1/partners/not-a-uuid/top-ups", keyed, good),
        ("POST", f"/v1/partners/{uuid4()}/top-ups", {**keyed, "idempotency-key": "new"}, good),
        ("POST", f"/v1/partners/{other}/top-ups", {**keyed, "key": "partner"}, good),
        ("POST", "/v1/partners", {**keyed, "key": "partner"}, b'{"name": "X"}'),
        ("POST", "/v1/partners", keyed, b'{"name": "X", "currency": "XXX", "time_zone": "UTC"}'),
        ("GET", f"/v1/partners/{partner}/balance", {}, None),
        ("GET", f"/v1/partners/{partner}/balance?min_position=0", {}, None),
        ("GET", f"/v1/partners/{partner}/balance?min_position=1&wait_ms=-5", {}, None),
        ("GET", f"/v1/partners/{partner}/balance?min_position=999999999&wait_ms=0", {}, None),
        ("GET", f"/v1/partners/{partner}/balance", {"key": "none"}, None),
        ("GET", f"/v1/partners/{other}/balance", {"key": "partner"}, None),
        ("GET", f"/v1/partners/{partner}/balance", {"key": "partner"}, None),
        ("GET", "/v1/partners/not-a-uuid/banner", {}, None),
        ("GET", f"/v1/partners/{partner}/invoices?limit=0", {}, None),
        ("GET", f"/v1/partners/{partner}/invoices?limit=2&after=forged", {}, None),
    ]


def _answers(
    http: httpx.Client, runtime: Runtime, keys: dict[str, str], requests: list[Sent], phase: str
) -> list[tuple[int, dict[str, Any], Any]]:
    """The answers to the commands, then, once the read models have applied what they wrote,
    to the reads: a read then meets the same state in either phase."""
    answers = [_answer(http, keys, sent, phase) for sent in requests if sent[0] == "POST"]
    caught_up(runtime)
    return answers + [_answer(http, keys, sent, phase) for sent in requests if sent[0] != "POST"]


def _answer(
    http: httpx.Client, keys: dict[str, str], request: Sent, phase: str
) -> tuple[int, dict[str, Any], Any]:
    """The status, some headers and the body of the answer, less what differs by request (its
    id, positions, new ids). Each phase has idempotency keys of its own: the first command
    under a key in each, and a key used again with another body in each."""
    method, path, headers, body = request
    sent = {name: value for name, value in headers.items() if name != "key"}
    if sent.get("idempotency-key"):
        sent["idempotency-key"] = f"{phase}-{sent['idempotency-key']}"
    who = headers.get("key", "admin")
    if who in keys:
        sent["authorization"] = f"Bearer {keys[who]}"
    elif who == "bad":
        sent["authorization"] = "Bearer ll_not_a_key"
    response = http.request(method, path, headers=sent, content=body)
    return (
        response.status_code,
        {name: _comparable(response.headers.get(name)) for name in COMPARED_HEADERS},
        _comparable(response.json() if response.content else None),
    )


LOG_POSITIONS = ("position", "as_of_position", "head")
"""Where the log is when a request is answered: further on in the second phase."""


def _comparable(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            name: LOG_POSITION.sub("at <position>", _comparable(item))
            if name == "detail" and isinstance(item, str)
            else _comparable(item)
            for name, item in value.items()
            if name not in ("instance", "request_id", *LOG_POSITIONS)
        }
    if isinstance(value, list):
        return [_comparable(item) for item in value]
    if isinstance(value, str):
        return UUID_TEXT.sub("<id>", value)
    return value
