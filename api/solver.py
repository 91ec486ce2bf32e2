"""A route's request solved in one flat plan, made once when the route is declared.

FastAPI solves every request's dependencies with one general function, walked again for each
request: for each dependency it recurses, works out a cache key from the callable's kind and
scopes, checks for overrides, generators and thread limits, parses the query string whether
the route takes one or not, and collects each kind of parameter in turn. For a command that
was a third of what the request cost the event loop, more than the work the dependencies
themselves do (checking the key, reading the path, validating the body; issue 16).

`LeanRoute` looks at a route's dependencies once, as it is declared. When they are of the
kinds Ledgerline's routes use (coroutines and plain functions taking the request, path, query
and header parameters, one JSON body, the `Response` to set headers on), it answers requests
with a `Plan`: the same steps FastAPI takes, in the same order, with the same validation
(FastAPI's own functions validate each kind of parameter and the body, so a bad request is
refused with the same errors, and the problem handlers answer them as before), only without
working out again per request what the route's shape already says. A route of any other shape
(a generator dependency, cookies, forms, security scopes, background tasks, a response class of
its own, a streamed answer), and every route while the app has dependency overrides, is
answered by FastAPI's own handler.
"""

from __future__ import annotations

import email.message
import json
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, replace
from typing import Any, cast

from fastapi import params
from fastapi._body_limit import get_body_limit_error
from fastapi._compat import ModelField as Field
from fastapi._compat import Undefined, field_annotation_is_sequence
from fastapi.datastructures import DefaultPlaceholder
from fastapi.dependencies.models import (
    Dependant,
    _is_async_gen_callable,
    _is_coroutine_callable,
    _is_gen_callable,
)
from fastapi.dependencies.utils import (
    _get_param_aliases,
    _get_param_model,
    _is_json_field,
    _validate_value_with_model_field,
    request_body_to_args,
    request_params_to_args,
)
from fastapi.exceptions import HTTPException, RequestValidationError, ResponseValidationError
from fastapi.routing import APIRoute
from fastapi.utils import is_body_allowed_for_status_code
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY
from starlette.requests import Request
from starlette.responses import Response

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


@dataclass(frozen=True)
class Step:
    """One dependency: what it takes from the request and the steps it depends on."""

    name: str | None
    call: Callable[..., Any]
    is_coroutine: bool
    use_cache: bool
    needs: tuple[Step, ...]
    path: tuple[Param, ...]
    query: tuple[Param, ...]
    header: tuple[Param, ...]
    request_name: str | None
    response_name: str | None

    @classmethod
    def of(cls, dependant: Dependant) -> Step | None:
        """The step for `dependant`, None if its shape is one only FastAPI solves."""
        if not _plain(dependant) or dependant.body_params or dependant.call is None:
            return None
        call = dependant.call
        if _is_generator(call) or dependant.concurrency is not None:
            return None
        needs = tuple(Step.of(sub) for sub in dependant.dependencies)
        if any(need is None for need in needs):
            return None
        return cls(
            name=dependant.name,
            call=call,
            is_coroutine=_is_coroutine_callable(call),
            use_cache=dependant.use_cache,
            needs=cast(tuple[Step, ...], needs),
            path=tuple(Param.of(field) for field in dependant.path_params),
            query=tuple(Param.of(field) for field in dependant.query_params),
            header=tuple(Param.of(field) for field in dependant.header_params),
            request_name=dependant.request_param_name,
            response_name=dependant.response_param_name,
        )

    async def solve(self, solving: Solving) -> tuple[dict[str, Any], list[Any]]:
        """The values for this step's call (its dependencies first, in order, then its own
        parameters), and the errors found: the same order FastAPI's `solve_dependencies` takes,
        so a request with a bad key and a bad body is refused for its key."""
        values: dict[str, Any] = {}
        errors: list[Any] = []
        for need in self.needs:
            sub_values, sub_errors = await need.solve(solving)
            if sub_errors:
                errors.extend(sub_errors)
                continue
            if need.use_cache and need.call in solving.cache:
                solved = solving.cache[need.call]
            elif need.is_coroutine:
                solved = await need.call(**sub_values)
            else:
                solved = await run_in_threadpool(need.call, **sub_values)
            if need.name is not None:
                values[need.name] = solved
            solving.cache.setdefault(need.call, solved)
        request = solving.request
        for taken, received in (
            (self.path, request.path_params),
            (self.query, request.query_params if self.query else {}),
            (self.header, request.headers if self.header else {}),
        ):
            for param in taken:
                param.take(received, values, errors)
        if self.request_name is not None:
            values[self.request_name] = request
        if self.response_name is not None:
            values[self.response_name] = solving.response
        return values, errors


@dataclass(frozen=True)
class Param:
    """A path, query or header parameter. One of a single value under a single name (a
    path's id, a header) is looked up by that name and validated by FastAPI's own validation
    of a parameter; any other (a list, a model of parameters, several names) is taken by
    FastAPI's `request_params_to_args`."""

    field: Field
    key: str | None
    loc: tuple[str, str]

    @classmethod
    def of(cls, field: Field) -> Param:
        info = field.field_info
        aliases = _get_param_aliases(field)
        single = (
            len(aliases) == 1
            and isinstance(info, params.Param)
            and _get_param_model(field) is None
            and not _is_json_field(field)
            and not field_annotation_is_sequence(info.annotation)
        )
        key = aliases[0][1]
        in_ = info.in_.value if isinstance(info, params.Param) else ""
        return cls(field, key if single else None, (in_, key))

    def take(self, received: Mapping[str, Any], values: dict[str, Any], errors: list[Any]) -> None:
        """Validate this parameter from `received` into `values`, or add its errors."""
        if self.key is None:
            found, wrong = request_params_to_args([self.field], received)
            values.update(found)
            errors.extend(wrong)
            return
        sent = received.get(self.key)
        value, wrong = _validate_value_with_model_field(
            field=self.field, value=Undefined if sent is None else sent, values=values, loc=self.loc
        )
        if wrong:
            errors.extend(wrong)
        else:
            values[self.field.name] = value


class Solving:
    """One request's solving: its request, the `Response` its dependencies may set headers
    and a status on, and the values of the dependencies solved so far (each once)."""

    __slots__ = ("cache", "request", "response")

    def __init__(self, request: Request) -> None:
        self.request = request
        self.response = Response()
        del self.response.headers["content-length"]
        self.response.status_code = None  # type: ignore[assignment]
        self.cache: dict[Callable[..., Any], Any] = {}


@dataclass(frozen=True)
class Plan:
    """A route's request, solved and answered the way FastAPI's handler does for its shape."""

    root: Step
    body: Field | None
    embed_body: bool
    strict_content_type: bool
    status_code: int | None
    answer: Field | None

    @classmethod
    def of(cls, route: APIRoute) -> Plan | None:
        """The plan for `route`, None if only FastAPI's own handler answers its shape."""
        dependant = route.dependant
        call = dependant.call
        if (
            call is None
            or not _is_coroutine_callable(call)
            or _is_generator(call)
            or not isinstance(route.response_class, DefaultPlaceholder)
            or route.response_field is None
            or getattr(route, "stream_item_field", None) is not None
            or getattr(route, "is_json_stream", False)
            or _filters_answer(route)
            or len(dependant.body_params) > 1
            or isinstance(route.body_field and route.body_field.field_info, params.Form)
        ):
            return None
        root = Step.of(replace(dependant, body_params=[]))
        if root is None:
            return None
        strict = route.strict_content_type
        return cls(
            root=root,
            body=route.body_field if dependant.body_params else None,
            embed_body=route._embed_body_fields,
            strict_content_type=strict.value if isinstance(strict, DefaultPlaceholder) else strict,
            status_code=route.status_code,
            answer=route.response_field,
        )

    def handler(self, fallback: Handler) -> Handler:
        """The route's handler: the plan, or FastAPI's own while the app serving the request
        has dependency overrides (the plan does not look for them; Ledgerline's own code and
        tests set none, and tests/api/test_solver.py sets one to compare the two handlers)."""

        async def app(request: Request) -> Response:
            if getattr(request.app, "dependency_overrides", None):
                return await fallback(request)
            return await self.run(request)

        return app

    async def run(self, request: Request) -> Response:
        body = await self._body(request) if self.body is not None else Undefined
        solving = Solving(request)
        values, errors = await self.root.solve(solving)
        if self.body is not None:
            found, wrong = await request_body_to_args(
                body_fields=[self.body], received_body=body, embed_body_fields=self.embed_body
            )
            values.update(found)
            errors.extend(wrong)
        if errors:
            raise RequestValidationError(errors, body=None if body is Undefined else body)
        answer = await self.root.call(**values)
        if isinstance(answer, Response):
            return answer
        return self._response(answer, solving.response)

    async def _body(self, request: Request) -> Any:
        """The body as FastAPI reads it: JSON when it says so (or says nothing, if the route
        is not strict about its content type), the bytes otherwise, nothing when empty; JSON
        that does not parse is a validation error, a body that cannot be read at all (JSON
        nested past the parser's depth) a 400, as FastAPI answers them."""
        try:
            raw = await request.body()
            if not raw:
                return Undefined
            return json.loads(raw) if self._says_json(request) else raw
        except json.JSONDecodeError as error:
            invalid = {
                "type": "json_invalid",
                "loc": ("body", error.pos),
                "msg": "JSON decode error",
                "input": {},
                "ctx": {"error": error.msg},
            }
            raise RequestValidationError([invalid], body=error.doc) from error
        except StarletteHTTPException:
            raise
        except Exception as error:
            if MAX_BODY_SIZE_SCOPE_KEY in request.scope and (
                too_large := get_body_limit_error(error)
            ):
                raise too_large from error
            raise HTTPException(400, "There was an error parsing the body") from error

    def _says_json(self, request: Request) -> bool:
        content_type = request.headers.get("content-type")
        if not content_type:
            return not self.strict_content_type
        message = email.message.Message()
        message["content-type"] = content_type
        subtype = message.get_content_subtype()
        return message.get_content_maintype() == "application" and (
            subtype == "json" or subtype.endswith("+json")
        )

    def _response(self, answer: Any, set_by_handler: Response) -> Response:
        """The answer validated against the response model and written as JSON bytes by
        pydantic, with the status and headers the handler set (FastAPI's fast path)."""
        field = cast(Field, self.answer)
        value, errors = field.validate(answer, {}, loc=("response",))
        if errors:
            raise ResponseValidationError(errors=errors, body=answer)
        status_code = set_by_handler.status_code or self.status_code or 200
        content = field.serialize_json(value, by_alias=True)
        response = Response(content=content, media_type="application/json", status_code=status_code)
        if not is_body_allowed_for_status_code(status_code):
            response.body = b""
        response.headers.raw.extend(set_by_handler.headers.raw)
        return response


class LeanRoute(APIRoute):
    """FastAPI's route, answering with a `Plan` when its shape has one (see above)."""

    plan: Plan | None = None
    """The plan it answers with, made as its handler is; None where FastAPI's handler answers."""

    def get_route_handler(self) -> Handler:
        fallback = super().get_route_handler()
        self.plan = Plan.of(self)
        if self.plan is None:
            return fallback
        return self.plan.handler(fallback)


def _plain(dependant: Dependant) -> bool:
    """No parameter kinds the plan leaves to FastAPI."""
    return not (
        dependant.cookie_params
        or dependant.websocket_param_name
        or dependant.http_connection_param_name
        or dependant.background_tasks_param_name
        or dependant.security_scopes_param_name
        or dependant.own_oauth_scopes
        or dependant.parent_oauth_scopes
    )


def _is_generator(call: Callable[..., Any]) -> bool:
    return _is_gen_callable(call) or _is_async_gen_callable(call)


def _filters_answer(route: APIRoute) -> bool:
    """Whether the route writes its answer other than whole and by alias."""
    return bool(
        route.response_model_include
        or route.response_model_exclude
        or not route.response_model_by_alias
        or route.response_model_exclude_unset
        or route.response_model_exclude_defaults
        or route.response_model_exclude_none
    )
