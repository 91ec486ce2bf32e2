"""Hostile requests for the API, derived from its own OpenAPI document, and the checks every
answer to them must pass (the values themselves are in tests/api/hostile_values.py).

A command's hostile body starts from the example its request schema documents (ids swapped
for real ones, so the command gets as far as the ledger) and has one to three of its fields
replaced by hostile values of the field's kind, dropped, or joined by an unknown field; or its
path ids, or its Idempotency-Key, are replaced. A query gets hostile values for some of its
parameters. tests/api/test_hostile_input.py sends them over real HTTP.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote
from uuid import uuid4

import httpx
import psycopg
from hypothesis import strategies as st
from psycopg import sql

from api.app import openapi_document
from api.problems.model import PROBLEM_MEDIA_TYPE
from domain.errors import BillingError
from ledger.store import EVENTS_TABLE
from tests.api.hostile_values import (
    AMOUNTS,
    DATES,
    HEADER_VALUES,
    IDS,
    INSTANTS,
    QUERY_VALUES,
    TEXTS,
    WRONG_TYPES,
    Json,
)

Path = tuple[str | int, ...]

CODE = re.compile(r"^[a-z][a-z0-9_]*$")
EDGE_CODES = frozenset(
    {
        "validation_failed",
        "malformed_body",
        "body_too_large",
        "not_found",
        "method_not_allowed",
        "unauthorized",
        "forbidden",
        "too_many_failed_keys",
    }
)
"""The codes the API's edge answers with itself (api/problems/model.py), besides the rules' own."""


def rule_codes(cls: type[BillingError] = BillingError) -> frozenset[str]:
    """The code of every refusal a business rule can answer with."""
    found: set[str] = set()
    for sub in cls.__subclasses__():
        # A family's base (NotFound) has no code of its own and is never answered as itself.
        found |= {sub.code} if "code" in vars(sub) else set()
        found |= rule_codes(sub)
    return frozenset(found)


STABLE_CODES = EDGE_CODES | rule_codes()


# --- the operations, from the OpenAPI document --------------------------------------------


@dataclass(frozen=True)
class Operation:
    """One route of the document: its method, path template and schemas."""

    method: str
    path: str
    path_params: tuple[str, ...]
    query_params: tuple[tuple[str, dict[str, Any]], ...]
    body_schema: dict[str, Any] | None
    body_required: bool = False
    body_example: Json = None
    components: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


def operations() -> list[Operation]:
    """Every /v1 operation of the API's own document."""
    document = openapi_document()
    components = document["components"]["schemas"]
    found = []
    for path, methods in document["paths"].items():
        if not path.startswith("/v1/"):
            continue
        for method, spec in methods.items():
            params = spec.get("parameters", [])
            body_spec = spec.get("requestBody", {})
            body = body_spec.get("content", {}).get("application/json")
            schema = resolve(body["schema"], components) if body else None
            example = (schema or {}).get("examples", [None])[0]
            found.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    path_params=tuple(p["name"] for p in params if p["in"] == "path"),
                    query_params=tuple(
                        (p["name"], resolve(p["schema"], components))
                        for p in params
                        if p["in"] == "query"
                    ),
                    body_schema=schema,
                    body_required=bool(body_spec.get("required")),
                    body_example=example,
                    components=components,
                )
            )
    return found


def resolve(
    schema: dict[str, Any], components: dict[str, Any], value: Json = None
) -> dict[str, Any]:
    """A schema with its `$ref` followed, `anyOf: [X, null]` taken as X, and of a `oneOf`
    the branch that `value` (a dict) fits, by the properties it names."""
    while True:
        if "$ref" in schema:
            schema = components[schema["$ref"].rsplit("/", 1)[-1]]
        elif "anyOf" in schema or "oneOf" in schema:
            alternatives: list[dict[str, Any]] = schema.get("anyOf") or schema["oneOf"]
            branches = [b for b in alternatives if b.get("type") != "null"]
            names = set(value) if isinstance(value, dict) else set()
            fitting = [
                b for b in branches if names <= set(resolve(b, components).get("properties", {}))
            ]
            schema = (fitting or branches)[0]
        else:
            return schema


# --- hostile bodies -------------------------------------------------------------------------

Slot = tuple[Path, dict[str, Any]]
"""A place in a body a field sits, and the field's schema."""


def slots(value: Json, schema: dict[str, Any], components: dict[str, Any]) -> Iterator[Slot]:
    """Every place in a body a field sits: each property (present or not) and list item."""
    schema = resolve(schema, components, value)
    if isinstance(value, dict):
        for name, sub in schema.get("properties", {}).items():
            yield (name,), resolve(sub, components, value.get(name))
            for rest, inner in slots(value.get(name), sub, components):
                yield (name, *rest), inner
    elif isinstance(value, list) and value and "items" in schema:
        yield (0,), resolve(schema["items"], components, value[0])
        for rest, inner in slots(value[0], schema["items"], components):
            yield (0, *rest), inner


def text_fields(operation: Operation, baseline: Json) -> list[Path]:
    """The places of a command's body that hold free text (strings of no fixed format)."""
    if operation.body_schema is None:
        return []
    return [
        place
        for place, field_schema in slots(baseline, operation.body_schema, operation.components)
        if field_schema.get("type") == "string"
        and "format" not in field_schema
        and "enum" not in field_schema
    ]


def with_value(body: Json, place: Path, value: Json) -> Json:
    """A copy of `body` with `value` at `place`."""
    return _set(copy.deepcopy(body), place, value)


def pool_for(schema: dict[str, Any]) -> list[Json]:
    """The hostile values of a field's kind, and every wrong type."""
    kind, shape = schema.get("type"), schema.get("format")
    if kind == "integer" or kind == "number":
        typed = AMOUNTS
    elif shape == "date":
        typed = DATES
    elif shape == "date-time":
        typed = INSTANTS
    elif shape == "uuid":
        typed = IDS
    elif kind == "string":
        typed = TEXTS
    else:
        typed = []
    return [*typed, *WRONG_TYPES]


def _parent(body: Json, path: Path) -> Json:
    """The container of the place at `path` (a KeyError, IndexError or TypeError when an
    earlier change took it away)."""
    for step in path[:-1]:
        body = body[step]
    return body


def _set(body: Json, path: Path, value: Json) -> Json:
    _parent(body, path)[path[-1]] = value
    return body


def _drop(body: Json, path: Path) -> Json:
    del _parent(body, path)[path[-1]]
    return body


@dataclass
class HostileCommand:
    """One hostile request for a command: its path ids, body and idempotency key."""

    path_ids: dict[str, str]
    body: Json
    idempotency_key: bytes = field(default_factory=lambda: str(uuid4()).encode())
    what: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        body = repr(self.body)
        shown = body if len(body) <= 300 else f"{body[:300]}… ({len(body)} characters)"
        return f"HostileCommand({self.what}, path_ids={self.path_ids}, body={shown})"


@st.composite
def hostile_commands(
    draw: st.DrawFn, operation: Operation, baseline: Json, path_ids: dict[str, str]
) -> HostileCommand:
    """A request for `operation`: its baseline body and real ids, then one to three changes."""
    request = HostileCommand(dict(path_ids), copy.deepcopy(baseline))
    schema = operation.body_schema
    places = list(slots(baseline, schema, operation.components)) if schema else []
    changes = ["path id", "idempotency key", "whole body"]
    if places:
        changes += ["field"] * 6 + ["missing field", "extra field"]
    for _ in range(draw(st.integers(1, 3))):
        change = draw(st.sampled_from(changes))
        if change == "path id" and request.path_ids:
            name = draw(st.sampled_from(sorted(request.path_ids)))
            request.path_ids[name] = str(draw(st.sampled_from(IDS)))
        elif change == "idempotency key":
            request.idempotency_key = draw(st.sampled_from(HEADER_VALUES))
        elif change == "whole body":
            request.body = copy.deepcopy(draw(st.sampled_from(WRONG_TYPES)))
        elif isinstance(request.body, dict) and schema is not None:
            place, field_schema = draw(st.sampled_from(places))
            try:
                if change == "missing field":
                    request.body = _drop(request.body, place)
                elif change == "extra field":
                    request.body = _set(request.body, (*place[:-1], "unexpected"), "x")
                else:
                    pool = pool_for(field_schema)
                    value = copy.deepcopy(draw(st.sampled_from(pool)))  # the pool stays as it is
                    request.body = _set(request.body, place, value)
            except (KeyError, IndexError, TypeError):
                pass  # an earlier change removed the place's parent: the body stays as it is
            change = f"{change} {'.'.join(map(str, place))}"
        request.what.append(change)
    return request


def encoded(body: Json) -> bytes:
    """JSON as Python writes it: lone surrogates escaped, NaN and Infinity as literals."""
    return json.dumps(body).encode()


# --- hostile queries ----------------------------------------------------------------------


def hostile_queries(operation: Operation, path_ids: dict[str, str]) -> st.SearchStrategy[Any]:
    """Some of a GET's query parameters (and maybe a path id) given hostile values."""
    names = [name for name, _ in operation.query_params]
    params = st.dictionaries(st.sampled_from(names), st.sampled_from(QUERY_VALUES), min_size=1)
    ids = st.just(path_ids)
    if path_ids:
        ids = st.one_of(
            st.just(path_ids),
            st.sampled_from(sorted(path_ids)).flatmap(
                lambda name: st.sampled_from(IDS).map(lambda bad: {**path_ids, name: str(bad)})
            ),
        )
    return st.tuples(ids, params)


# --- what every answer must be ------------------------------------------------------------


def url_of(operation: Operation, path_ids: dict[str, str]) -> str:
    path = operation.path
    for name, value in path_ids.items():
        path = path.replace("{" + name + "}", quote(value, safe=""))
    return path


def assert_a_problem_not_a_crash(response: httpx.Response, what: object) -> None:
    """Never a 5xx; a 4xx is an RFC 9457 problem with one of the stable codes."""
    assert response.status_code < 500, (what, response.status_code, response.text[:500])
    if response.status_code >= 400:
        assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE, (what, response.text[:500])
        problem = response.json()
        assert problem["status"] == response.status_code, (what, problem)
        assert problem["code"] in STABLE_CODES, (what, problem)
        assert CODE.match(problem["code"]), problem
        assert problem["type"] == f"urn:ledgerline:problem:{problem['code']}", problem


WRITTEN_TABLES = (EVENTS_TABLE, "command_log", "outbox", "number_series")
"""What a command writes in its transaction (ledger/schema.py): events, idempotency records,
e-mails to send, document numbers."""
ORDER_OF = {EVENTS_TABLE: "notification_id", "command_log": "key", "outbox": "id"}
OUTBOX_WRITTEN = "id, dedup_key, kind, recipient, subject, body, partner_id, details"
"""The outbox as a command writes it (not its delivery state, which the mail worker moves)."""


def digest_of(conn: psycopg.Connection[Any]) -> str:
    """One hash over every row a command could have written (`conn` in autocommit)."""
    parts = [
        sql.SQL(
            "(SELECT md5(coalesce(string_agg(row({})::text, '|' ORDER BY {}), '')) FROM {} t)"
        ).format(
            sql.SQL(OUTBOX_WRITTEN if table == "outbox" else "t.*"),
            sql.Identifier(ORDER_OF.get(table, "series")),
            sql.Identifier(table),
        )
        for table in WRITTEN_TABLES
    ]
    row = conn.execute(
        sql.SQL("SELECT md5(concat({}))").format(sql.SQL(", ").join(parts))
    ).fetchone()
    assert row is not None
    return str(row[0])
