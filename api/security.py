"""Who is calling, and what they may do: the dependencies every route declares.

- `Caller`: any valid key (401 without one). Reads use it, then scope what they return with
  `visible(...)`, so that a partner key reaching for another partner's resource gets the same
  404 as for a resource that does not exist: ids of other partners are not confirmed.
- `Commander`: a key that may issue commands (admin or partner; 403 for finance and auditor).
- `Admin`: the vendor only (opening partner accounts, voids, credit notes, key management).
- `Receiver`: the vendor's admin or finance: confirms that money announced by a partner (a
  bank transfer, cash, a cheque) arrived, the only way such money pays (R-H2).
- `Overseer`: reads that span every partner (admin, finance, auditor; 403 for a partner key).
- `IdempotencyKey`: the `Idempotency-Key` header every POST must carry (R-X5); a missing
  one is a validation problem naming the header.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from enum import StrEnum
from typing import Annotated, Any, TypeVar
from uuid import UUID

import structlog
from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param

from api import keys
from api.key_limits import FailedKeyLimiter, TooManyFailedKeys, client_address
from api.keys import Principal, Role
from api.runtime import Runtime
from domain.errors import BillingError
from ledger.audit_chain import Cause, set_cause

KEY_CACHE_MAX = 10_000
IDEMPOTENCY_KEY_MAX = 255

E = TypeVar("E", bound=BillingError)


class Unauthorized(Exception):
    """No key, or one that is malformed, unknown or revoked."""


class Forbidden(Exception):
    """A valid key whose role may not do this."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class Keyring:
    """Verifies presented keys against the database, remembering good ones for a while."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        # A revoked key stops working within this bound (LEDGERLINE_KEY_CACHE_TTL_S).
        self._ttl_s = runtime.settings.key_cache_ttl_s
        self._lock = threading.Lock()
        self._known: dict[str, tuple[Principal, float]] = {}

    def cached(self, token: str) -> Principal | None:
        """The caller a key names, if verified within the last `ttl_s` (no I/O)."""
        with self._lock:
            cached = self._known.get(token)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        return None

    def principal(self, token: str) -> Principal | None:
        """The caller a key names: remembered, or verified against the database."""
        found = self.cached(token)
        if found is not None:
            return found
        # Its own pool, never the read pool: see KEY_POOL_SIZE in api/runtime.py.
        with self._runtime.key_pool.connection() as conn:
            found = keys.authenticate(conn, token)
        if found is not None:
            with self._lock:
                if len(self._known) >= KEY_CACHE_MAX:
                    self._known.clear()
                self._known[token] = (found, time.monotonic() + self._ttl_s)
        return found

    def forget(self) -> None:
        with self._lock:
            self._known.clear()


bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key from `ledgerline keys create`, sent as `Authorization: Bearer ll_…`.",
)
"""The scheme the OpenAPI document declares for every route that takes a key (api/openapi.py);
the key itself is read by `authenticated`."""


# The dependencies are coroutines: FastAPI runs plain functions in its thread pool, and the
# pool's threads are better spent on handlers that read. Each role's dependency is one
# dependency, not one built on another: FastAPI solves every dependency of a request in turn,
# about 20 µs of the event loop each, and a command declared seven (issue 16).


async def authenticated(request: Request) -> Principal:
    """The caller, from a key remembered (no I/O) or looked up once; every failure spends one
    of the client address's allowance, and an address with none left is not looked up (429).
    Checked once per request: the role dependencies and the idempotency key all ask here."""
    state = request.state
    known: Principal | None = getattr(state, "principal", None)
    if known is not None:
        return known
    token = bearer_token(request.headers.get("authorization"))
    keyring: Keyring = request.app.state.keyring
    principal = keyring.cached(token) if token is not None else None
    if principal is None:
        limiter: FailedKeyLimiter = request.app.state.failed_keys
        address = client_address(request)
        refused_for_s = limiter.refused_for_s(address)
        if refused_for_s is not None:
            raise TooManyFailedKeys(refused_for_s)
        if token is not None:
            principal = await run_in_threadpool(keyring.principal, token)
        if principal is None:
            limiter.failed(address)
            raise Unauthorized()
    state.principal = principal
    # The commands this request issues are recorded as caused by this key (never its secret).
    set_cause(
        Cause.api_key(
            principal.key_id,
            principal.role.value,
            structlog.contextvars.get_contextvars().get("request_id"),
        )
    )
    return principal


def bearer_token(authorization: str | None) -> str | None:
    """The credentials of an `Authorization: Bearer …` header (the scheme in any case), split as
    FastAPI's `HTTPBearer` splits them; None for no header, another scheme or nothing after it."""
    scheme, credentials = get_authorization_scheme_param(authorization)
    if not scheme or not credentials or scheme.lower() != "bearer":
        return None
    return credentials


async def get_principal(request: Request) -> Principal:
    """Any valid key."""
    return await authenticated(request)


async def get_commander(request: Request) -> Principal:
    principal = await authenticated(request)
    if not principal.may_command:
        raise Forbidden(f"A {principal.role.value} key reads; it does not issue commands.")
    return principal


async def get_admin(request: Request) -> Principal:
    principal = await authenticated(request)
    if principal.role is not Role.ADMIN:
        raise Forbidden("Only the vendor's admin keys may do this.")
    return principal


async def get_receiver(request: Request) -> Principal:
    """Confirms money received outside the gateway: the vendor's admin or finance (R-H2)."""
    principal = await authenticated(request)
    if principal.role not in (Role.ADMIN, Role.FINANCE):
        raise Forbidden("Only the vendor (admin or finance) confirms money it received.")
    return principal


async def get_overseer(request: Request) -> Principal:
    """Reads across all partners (the trial balance, projection status): not for partner keys."""
    principal = await authenticated(request)
    if principal.role is Role.PARTNER:
        raise Forbidden("A partner key reads its own resources; this one spans every partner.")
    return principal


async def get_auditor(request: Request) -> Principal:
    """Audits the log (history as of a moment, proofs of its integrity): admin and auditor."""
    principal = await authenticated(request)
    if principal.role not in (Role.ADMIN, Role.AUDITOR):
        raise Forbidden("Only the vendor's admin and auditor keys audit the log.")
    return principal


async def get_idempotency_key(
    request: Request,
    idempotency_key: Annotated[
        str,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=IDEMPOTENCY_KEY_MAX,
            pattern=r"^[\x21-\x7e]+$",
            description="Required: a unique key per command (a UUID will do). A retry with the "
            "same key and the same body answers as the first time and writes nothing; the same "
            "key with a different body is refused with `idempotency_key_reused` (R-X5).",
            examples=["0c9f4b7e-3a52-4a8e-9d1e-7a1f1b2c3d4e"],
        ),
    ],
) -> str:
    """The ledger's idempotency key: the header, in the calling key's own namespace."""
    principal = await authenticated(request)
    return f"http/{principal.key_id}/{idempotency_key}"


def visible(principal: Principal, partner_id: UUID | None, not_found: E) -> None:
    """Raise `not_found` unless the caller may see what belongs to `partner_id`."""
    if partner_id is None or not principal.sees(partner_id):
        raise not_found


class Access(StrEnum):
    """Who may call a route, as its dependencies declare it."""

    PUBLIC = "no key"
    CALLER = "every role (a partner: its own)"
    OVERSEER = "admin, finance, auditor"
    COMMANDER = "admin, own partner"
    RECEIVER = "admin, finance"
    AUDITOR = "admin, auditor"
    ADMIN = "admin"


def access(route: APIRoute) -> Access:
    """The access a route declares (used by the route index and the role test)."""
    calls = set(dependency_calls(route.dependant))
    for dependency, level in (
        (get_admin, Access.ADMIN),
        (get_receiver, Access.RECEIVER),
        (get_auditor, Access.AUDITOR),
        (get_overseer, Access.OVERSEER),
        (get_commander, Access.COMMANDER),
        (get_principal, Access.CALLER),
    ):
        if dependency in calls:
            return level
    return Access.PUBLIC


def dependency_calls(dependant: Dependant) -> Iterator[Any]:
    """Every dependency a route's `dependant` declares, and theirs, each callable as declared."""
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from dependency_calls(dependency)


Caller = Annotated[Principal, Depends(get_principal)]
Commander = Annotated[Principal, Depends(get_commander)]
Admin = Annotated[Principal, Depends(get_admin)]
Receiver = Annotated[Principal, Depends(get_receiver)]
Auditor = Annotated[Principal, Depends(get_auditor)]
Overseer = Annotated[Principal, Depends(get_overseer)]
IdempotencyKey = Annotated[str, Depends(get_idempotency_key)]
