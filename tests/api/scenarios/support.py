"""What the seed stories told over HTTP share: a client per API key, commands under the
story's own Idempotency-Keys, reads of one's own writes, and the billing clock moved by hand.

Every command is a POST with an explicit Idempotency-Key and the key of the role a real user
would hold; every outcome is read back with GETs that wait for the latest position the story
has seen (`min_position`). Moving the simulated clock and running the billing clock are not
HTTP operations: `Story.tick` does them directly, then learns the head of the log over HTTP
(`/v1/projections/status`, a finance key) so the reads that follow see the clock's work.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import httpx

from api.runtime import Runtime
from ledger.billing_clock import TickReport, tick
from ledger.clock import SimulatedClock

ClientFor = Callable[[str | None], httpx.Client]
MakeKey = Callable[..., str]
Json = dict[str, Any]

READ_WAIT_MS = 5000
"""How long a read waits for the story's latest position (the API's bound is 10 s)."""
PAGES_MAX = 20
"""A story's lists are short: more pages than this means a cursor that never ends."""


@dataclass
class Story:
    """One seed story: its runtime and clock, the keys it was given, and the latest position."""

    runtime: Runtime
    clock: SimulatedClock
    client_for: ClientFor
    make_key: MakeKey
    position: int = 0
    shown: list[str] = field(default_factory=list)
    """Every response body the story received, to prove what was never shown (R-X4)."""

    def __post_init__(self) -> None:
        self.admin = Api(self, self.client_for(self.make_key("admin")))
        self.finance = Api(self, self.client_for(self.make_key("finance")))

    def saw(self, position: int) -> None:
        self.position = max(self.position, position)

    def partner_key(self, partner_id: UUID) -> Api:
        """A client with a key of this partner's own (its portal, its integration)."""
        return Api(self, self.client_for(self.make_key("partner", partner_id)))

    def open_partner(
        self, key: str, name: str, currency: str, time_zone: str, anchor: str = "anniversary"
    ) -> tuple[UUID, Api]:
        """The vendor opens the account (admin key); the partner gets a key of its own."""
        answer = self.admin.post(
            "/v1/partners",
            {"name": name, "currency": currency, "time_zone": time_zone, "anchor": anchor},
            key=key,
        )
        partner_id = UUID(answer["id"])
        return partner_id, self.partner_key(partner_id)

    def head(self) -> int:
        """The last position of the log, as the back office reads it (a finance key)."""
        status = self.finance.get("/v1/projections/status")
        head = int(status["head_position"])
        self.saw(head)
        return head

    def tick(self, instant: datetime) -> TickReport:
        """Move the simulated clock to `instant` and do the billing clock's work due by then
        (not an HTTP operation), then learn where the log is, to read what it did."""
        self.clock.set(instant)
        report = tick(self.runtime.ledger, self.clock.now())
        self.head()
        return report

    def trial_balance(self, currency: str) -> dict[str, int]:
        """R-X2 read by finance: every currency balances; each account's balance (debits
        minus credits, summed over its owners) in `currency`."""
        books = self.finance.get("/v1/ledger/trial-balance")
        assert books["balanced"] is True
        assert all(total["balanced"] for total in books["currencies"])
        return {
            account["account_kind"]: account["balance"]["amount_minor"]
            for account in books["accounts"]
            if account["currency"] == currency
        }

    def never_shown(self, *secrets: str) -> None:
        """No response the story received held any of these (card and bank numbers, R-X4)."""
        for text in self.shown:
            for secret in secrets:
                assert secret not in text


class Api:
    """An HTTP client holding one API key, within a story."""

    def __init__(self, story: Story, client: httpx.Client) -> None:
        self.story = story
        self.client = client

    def post(self, path: str, body: Json | None = None, *, key: str) -> Json:
        """A command: answered 201 with its position, which later reads wait for."""
        response = self._post(path, body, key)
        assert response.status_code == 201, response.text
        answer: Json = response.json()
        self.story.saw(int(answer["position"]))
        return answer

    def replay(self, path: str, body: Json | None = None, *, key: str) -> Json:
        """The same command again under the same key: answered as the first time (R-X5)."""
        response = self._post(path, body, key)
        assert response.status_code == 201, response.text
        assert response.headers["idempotent-replayed"] == "true"
        answer: Json = response.json()
        return answer

    def refused(self, path: str, body: Json | None = None, *, key: str, status: int) -> Json:
        """A command the API refuses with a problem (RFC 9457): its body."""
        response = self._post(path, body, key)
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        problem: Json = response.json()
        return problem

    def get(self, path: str, **params: Any) -> Any:
        """A read that waits until the read model has applied everything the story saw."""
        response = self._get(path, params)
        assert response.status_code == 200, response.text
        return response.json()

    def missing(self, path: str, **params: Any) -> Json:
        """A read answered 404 (not there, or not this key's to see)."""
        response = self._get(path, params)
        assert response.status_code == 404, response.text
        problem: Json = response.json()
        return problem

    def pages(self, path: str, **params: Any) -> list[Any]:
        """Every item of a list, following `next_cursor` to its end."""
        items: list[Any] = []
        cursor: str | None = None
        for _ in range(PAGES_MAX):
            page = self.get(path, **params, **({"cursor": cursor} if cursor else {}))
            items.extend(page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                return items
        raise AssertionError(f"{path} has more than {PAGES_MAX} pages")

    def _post(self, path: str, body: Json | None, key: str) -> httpx.Response:
        response = self.client.post(path, json=body, headers={"Idempotency-Key": key})
        self.story.shown.append(response.text)
        return response

    def _get(self, path: str, params: dict[str, Any]) -> httpx.Response:
        if self.story.position:
            params = {"min_position": self.story.position, "wait_ms": READ_WAIT_MS, **params}
        response = self.client.get(path, params=params)
        self.story.shown.append(response.text)
        return response


# --- what an invoice says, as the API shows it --------------------------------------------


def money(amount_minor: int, currency: str) -> Json:
    return {"amount_minor": amount_minor, "currency": currency}


def minor(value: Json) -> int:
    return int(value["amount_minor"])


def products(invoice: Json) -> list[tuple[str, int, tuple[str | None, str | None]]]:
    """The product lines of an invoice: what, how much (minor units), for which period."""
    return sorted(
        (line["description"], minor(line["amount"]), (line["period_start"], line["period_end"]))
        for line in invoice["lines"]
        if line["kind"] == "product"
    )


def card_fees(invoice: Json) -> list[tuple[str, int]]:
    """The card fee lines of an invoice (R-O7)."""
    return [
        (line["description"], minor(line["amount"]))
        for line in invoice["lines"]
        if line["kind"] == "card_fee"
    ]


def payments(invoice: Json) -> list[tuple[str, int, int]]:
    """Each payment's source, amount and the part of it that paid a card fee (minor units)."""
    return [(p["source"], minor(p["amount"]), minor(p["fee"])) for p in invoice["payments"]]


def oldest_first(invoices: list[Json]) -> list[Json]:
    """A list of invoices (the API gives the newest first) in the order they were numbered."""
    return sorted(invoices, key=lambda found: (found["issued_on"], found["number"]))


def of_line(feed: list[Json], line_id: str) -> Iterator[Json]:
    """One line's entries of a partner's activity feed (R-H7)."""
    return (entry for entry in feed if entry["line_id"] == line_id)


def pay_offline(api: Api, invoice_id: str, body: Json, *, key: str) -> Json:
    """Money sent outside the gateway (bank transfer, cash, cheque): the payer announces it,
    the vendor confirms it arrived, and only then is it paid (R-H2). The confirmation's answer."""
    announced = api.post(
        f"/v1/invoices/{invoice_id}/payment-announcements",
        {"reference": key, **body},
        key=f"{key}/announce",
    )
    confirm = f"/v1/invoices/{invoice_id}/payment-announcements/{announced['payment_id']}/confirm"
    return api.story.admin.post(confirm, key=f"{key}/confirm")


def top_up_by_transfer(
    api: Api, partner: UUID | str, amount: Json, *, key: str, reference: str | None = None
) -> Json:
    """A bank transfer for the company balance: announced by the partner, confirmed by the
    vendor (R-C2). The confirmation's answer (the balance with the transfer in it)."""
    announced = api.post(
        f"/v1/partners/{partner}/top-up-announcements",
        {"amount": amount, "reference": reference or key},
        key=f"{key}/announce",
    )
    confirm = f"/v1/partners/{partner}/top-up-announcements/{announced['top_up_id']}/confirm"
    return api.story.admin.post(confirm, key=f"{key}/confirm")
