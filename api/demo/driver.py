"""What the demo's stories share: one admin key driving the API, commands under the demo's
own Idempotency-Keys, reads of its own writes, and test clocks moved over HTTP.

Every id the ledger makes from a command is derived from the command's Idempotency-Key in the
calling key's namespace (`ledger.command_bus.derived_id`), and the demo's key keeps one id from
run to run (`api.keys.reissue_key`): the same story sent again names the same partners,
clients and lines, and every command is answered from the command log, writing nothing.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from api.demo.asgi import Answer, AsgiApp, request

Json = dict[str, Any]

KEY_PREFIX = "demo"
"""Every Idempotency-Key the demo sends starts with it."""
NAMES = uuid5(NAMESPACE_URL, "https://ledgerline.invalid/demo")
"""The namespace of the ids the demo gives itself (locations, leads)."""
READ_WAIT_MS = 10_000
"""How long a read waits for the demo's latest position (the API's bound)."""
ADVANCE_WAIT_MS = 10_000
"""How long an advance is waited for before it answers 202 (the API's bound)."""
ADVANCE_POLLS_MAX = 600
"""An advance still running after this many polls (ADVANCE_POLL_S apart, a minute) is stuck."""
ADVANCE_POLL_S = 0.1


class DemoRefused(Exception):
    """The API did not answer a demo request as the story expects: the demo stops there."""

    def __init__(self, method: str, path: str, answer: Answer) -> None:
        super().__init__(f"{method} {path} answered {answer.status}: {answer.body}")
        self.answer = answer


def named_id(name: str) -> UUID:
    """An id the demo chooses itself (a location's, a lead's), the same on every run."""
    return uuid5(NAMES, name)


def money(amount_minor: int, currency: str) -> Json:
    return {"amount_minor": amount_minor, "currency": currency}


@dataclass
class Driver:
    """The API as the demo drives it: the app, the admin key, the latest position seen."""

    app: AsgiApp
    token: str
    position: int = 0

    async def post(self, path: str, body: Json | None = None, *, key: str, **params: Any) -> Json:
        """A command, answered 201 (or 202 for an advance still running) with its position."""
        answer = await request(
            self.app,
            "POST",
            path,
            token=self.token,
            body=body,
            params=params,
            headers={"idempotency-key": f"{KEY_PREFIX}/{key}"},
        )
        if answer.status not in (201, 202):
            raise DemoRefused("POST", path, answer)
        found: Json = answer.body
        self.position = max(self.position, int(found.get("position") or 0))
        return found

    async def get(self, path: str, **params: Any) -> Any:
        """A read that waits until the read models have applied everything the demo wrote."""
        if self.position:
            params = {"min_position": self.position, "wait_ms": READ_WAIT_MS, **params}
        answer = await request(self.app, "GET", path, token=self.token, params=params)
        if answer.status != 200:
            raise DemoRefused("GET", path, answer)
        return answer.body

    async def advance(self, clock: UUID, to: datetime) -> Json:
        """Move a test clock to `to`: everything due on the way happens (renewals, charges,
        lead runs, overdue marks, grace ends, transfers). Answers once the clock is ready."""
        path = f"/v1/test-clocks/{clock}/advance"
        body = {"frozen_time": to.isoformat()}
        answer = await self.post(
            path, body, key=f"advance/{clock}/{to.isoformat()}", wait_ms=ADVANCE_WAIT_MS
        )
        for _ in range(ADVANCE_POLLS_MAX):
            if answer["status"] == "ready":
                return answer
            await asyncio.sleep(ADVANCE_POLL_S)
            answer = await self.get(f"/v1/test-clocks/{clock}")
        raise DemoRefused("POST", path, Answer(202, answer))

    async def pay_offline(self, invoice: str, source: str, reference: str, *, key: str) -> Json:
        """Money sent outside the gateway: announced, then confirmed by the vendor (R-H2)."""
        announced = await self.post(
            f"/v1/invoices/{invoice}/payment-announcements",
            {"source": source, "reference": reference},
            key=f"{key}/announce",
        )
        payment = announced["payment_id"]
        return await self.post(
            f"/v1/invoices/{invoice}/payment-announcements/{payment}/confirm", key=f"{key}/confirm"
        )


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def minutes_before(instant: datetime, count: int) -> datetime:
    return instant - timedelta(minutes=count)
