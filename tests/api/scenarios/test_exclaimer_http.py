"""Exclaimer (seed 002) over HTTP: a client's subscription moves to a new reseller
(R-E1 … R-E4), the story of tests/ledger/scenarios/test_exclaimer.py told through the API.

Two resellers in Warsaw sell e-mail signatures at 99.00 PLN a month; the vendor opens both
accounts (admin key). Kowalski's line starts on Saturday 31 January 2026 with its current
reseller, Northwind, and is invoiced by bank transfer (net 14). Northwind's key asks for the
transfer and records the client's consent and its own; Baltic's key gives Baltic's consent and,
once the line is Baltic's, reads it. The billing clock, in Warsaw time, renews the line and
completes the transfer.

Not over HTTP, so not asserted here (the ledger scenario asserts them): the invoice e-mail of
the renewal (the outbox has no route) and the billing clock's schedule (the pending transfer's
`effective_on` on the line stands in for the scheduled completion).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid4

from api.runtime import Runtime
from ledger.clock import SimulatedClock
from tests.api.scenarios.support import (
    Api,
    ClientFor,
    Json,
    MakeKey,
    Story,
    minor,
    of_line,
    pay_offline,
)
from tests.ledger.scenarios.exclaimer_housecall_support import local

WARSAW = "Europe/Warsaw"
MONTH = 99_00
YEAR = 12 * 99_00
"""Annual billing: twelve months at 99.00 PLN, 1 188.00 PLN, no duration discount."""
END_USER = "Kowalski i Synowie Sp. z o.o."
INVOICE_EMAIL = "faktury@kowalski.example"


def warsaw(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return local(WARSAW, year, month, day, hour, minute)


@dataclass(frozen=True)
class Resale:
    """Who takes part in the transfer, and the line's first invoice (INV-2026-000001)."""

    current: UUID
    northwind: Api
    new: UUID
    baltic: Api
    client: str
    line: str
    first_invoice: str

    def request(self, preferred: date, *consents: str, **changes: Any) -> Json:
        """A request with every field R-E2 asks for (the subscription id is the line's id)."""
        return {
            "end_user_name": END_USER,
            "current_reseller_id": str(self.current),
            "new_reseller_id": str(self.new),
            "preferred_date": preferred.isoformat(),
            "owner_email": "admin@kowalski.example",
            "invoice_email": INVOICE_EMAIL,
            "billing": "annual",
            "payment_method": "bank_transfer",
            "consents": list(consents),
            **changes,
        }

    @property
    def transfers(self) -> str:
        return f"/v1/lines/{self.line}/transfers"

    @property
    def consents(self) -> str:
        return f"/v1/lines/{self.line}/transfers/consents"


def set_up(story: Story) -> Resale:
    """Two resellers; Kowalski's line with Northwind, started and invoiced on 31 January."""
    current, northwind = story.open_partner("open/northwind", "Northwind IT", "PLN", WARSAW)
    new, baltic = story.open_partner("open/baltic", "Baltic Partners", "PLN", WARSAW)
    baltic.post(
        f"/v1/partners/{new}/billing-profile",
        {
            "entity": "Baltic Partners Sp. z o.o.",
            "address": {
                "lines": ["ul. Długa 1"],
                "city": "Gdańsk",
                "postal_code": "80-827",
                "country": "PL",
            },
            "billing_email": "billing@baltic.example",
        },
        key="profile/baltic",
    )
    client = northwind.post(
        f"/v1/partners/{current}/clients",
        {"name": END_USER, "email": INVOICE_EMAIL, "unified_billing": False},
        key="client/kowalski",
    )["id"]
    line = northwind.post(
        "/v1/lines",
        {"partner_id": str(current), "client_id": client, "product_code": "email-signatures"},
        key="line/kowalski",
    )["id"]
    activated = northwind.post(
        f"/v1/lines/{line}/activate", {"start_on": "2026-01-31"}, key="activate/kowalski"
    )
    assert activated["invoice_number"] == "INV-2026-000001"
    first = northwind.get(f"/v1/invoices/{activated['invoice_id']}")
    assert (first["partner_id"], minor(first["total"]), first["due_on"]) == (
        str(current),
        MONTH,
        "2026-02-14",
    )
    return Resale(current, northwind, new, baltic, client, line, first["id"])


def pay(resale: Resale, invoice_id: str, key: str) -> None:
    body = {"source": "bank_transfer", "reference": key}
    pay_offline(resale.northwind, invoice_id, body, key=key)


def open_invoice_of(resale: Resale, api: Api, number: str) -> str:
    numbers = {found["number"]: str(found["invoice_id"]) for found in open_invoices(resale, api)}
    return numbers[number]


def open_invoices(resale: Resale, api: Api) -> list[Json]:
    found: list[Json] = api.get(f"/v1/lines/{resale.line}")["open_invoices"]
    return found


def feed(resale: Resale, api: Api, partner: UUID) -> list[Json]:
    """The line's activity feed (R-H7), as its owner reads it."""
    return list(of_line(api.pages(f"/v1/partners/{partner}/activity"), resale.line))


def test_r_e3_a_transfer_is_refused_with_the_open_invoices_listed_until_they_are_paid(
    runtime: Runtime, clock: SimulatedClock, client_for: ClientFor, make_key: MakeKey
) -> None:
    story = Story(runtime, clock, client_for, make_key)
    resale = set_up(story)
    northwind = resale.northwind
    story.tick(warsaw(2026, 2, 28))  # the renewal, 28 February; January's invoice is overdue
    assert [found["number"] for found in open_invoices(resale, northwind)] == [
        "INV-2026-000001",
        "INV-2026-000002",
    ]
    assert northwind.get(f"/v1/invoices/{resale.first_invoice}")["overdue"] is True
    second = open_invoice_of(resale, northwind, "INV-2026-000002")
    request = resale.request(date(2026, 3, 16), "client")

    clock.set(warsaw(2026, 3, 2, 10))
    before = story.head()
    refused = northwind.refused(resale.transfers, request, key="transfer/1", status=409)
    assert refused["code"] == "invoice_not_settled"
    assert refused["unsettled"] == ["INV-2026-000001", "INV-2026-000002"]
    assert story.head() == before  # refused, nothing written

    pay(resale, resale.first_invoice, "przelew-0001")
    still = northwind.refused(resale.transfers, request, key="transfer/2", status=409)
    assert still["unsettled"] == ["INV-2026-000002"]

    pay(resale, second, "przelew-0002")
    accepted = northwind.post(resale.transfers, request, key="transfer/3")
    assert (accepted["missing_consents"], accepted["effective_on"]) == (
        ["current_reseller", "new_reseller"],
        None,
    )
    kinds = [entry["kind"] for entry in feed(resale, northwind, resale.current)]
    assert kinds[-2:] == [
        "SubscriptionLine.TransferRequested",
        "SubscriptionLine.TransferConsentGiven",
    ]
    line = northwind.get(f"/v1/lines/{resale.line}")
    assert line["partner_id"] == str(resale.current)
    assert line["transfer"]["effective_on"] is None  # not scheduled: consents are missing
    assert story.trial_balance("PLN").get("receivable", 0) == 0


def test_r_e2_r_e4_r_e1_done_on_a_friday_a_too_early_date_moves_to_tuesday_to_the_new_reseller(
    runtime: Runtime, clock: SimulatedClock, client_for: ClientFor, make_key: MakeKey
) -> None:
    story = Story(runtime, clock, client_for, make_key)
    resale = set_up(story)
    northwind, baltic = resale.northwind, resale.baltic
    pay(resale, resale.first_invoice, "przelew-0001")
    # Monday 23 February is one business day after the Friday the request completes: too early.
    request = resale.request(date(2026, 2, 23), "client")

    clock.set(warsaw(2026, 2, 16, 10))  # Monday: Northwind asks, with the client's consent
    asked = northwind.post(resale.transfers, request, key="transfer/kowalski")
    assert (asked["id"], asked["missing_consents"], asked["effective_on"]) == (
        resale.line,  # the subscription id
        ["current_reseller", "new_reseller"],
        None,
    )
    pending = northwind.get(f"/v1/lines/{resale.line}")["transfer"]
    assert pending == {  # every R-E2 field, as asked
        "end_user_name": END_USER,
        "current_reseller_id": str(resale.current),
        "new_reseller_id": str(resale.new),
        "preferred_date": "2026-02-23",
        "owner_email": "admin@kowalski.example",
        "invoice_email": INVOICE_EMAIL,
        "billing": "annual",
        "payment_method": "bank_transfer",
        "consents": ["client"],
        "missing_consents": ["current_reseller", "new_reseller"],
        "effective_on": None,
    }
    requested = [
        entry
        for entry in feed(resale, northwind, resale.current)
        if entry["kind"] == "SubscriptionLine.TransferRequested"
    ]
    assert [entry["text"] for entry in requested] == [
        f"Transfer of {END_USER} to another reseller requested, preferred date 23 Feb 2026, "
        "billed annually, paid by bank transfer."
    ]
    # Baltic cannot read the line before it is Baltic's, nor consent for Northwind.
    assert baltic.missing(f"/v1/lines/{resale.line}")["code"] == "line_not_found"
    party = {"party": "current_reseller"}
    assert (
        baltic.client.post(
            resale.consents, json=party, headers={"Idempotency-Key": "consent/forged"}
        ).status_code
        == 403
    )

    clock.set(warsaw(2026, 2, 19, 15))  # Thursday: the current reseller consents
    ours = northwind.post(resale.consents, party, key="consent/northwind")
    assert (ours["missing_consents"], ours["effective_on"]) == (["new_reseller"], None)

    clock.set(warsaw(2026, 2, 20, 11))  # Friday: Baltic consents; the request is complete
    theirs = baltic.post(resale.consents, {"party": "new_reseller"}, key="consent/baltic")
    assert (theirs["missing_consents"], theirs["effective_on"]) == ([], "2026-02-24")
    assert northwind.get(f"/v1/lines/{resale.line}")["transfer"]["effective_on"] == "2026-02-24"

    story.tick(warsaw(2026, 2, 23, 23, 59))  # a minute before Tuesday in Warsaw
    assert northwind.get(f"/v1/lines/{resale.line}")["partner_id"] == str(resale.current)

    assert story.tick(warsaw(2026, 2, 24)).done["complete_transfer"] == 1  # 23:00 UTC Monday
    moved = baltic.get(f"/v1/lines/{resale.line}")
    assert (moved["partner_id"], moved["term"], moved["transfer"]) == (
        str(resale.new),
        "annual",
        None,
    )
    assert northwind.missing(f"/v1/lines/{resale.line}")["code"] == "line_not_found"
    transferred = feed(resale, baltic, resale.new)[-1]
    assert (transferred["kind"], transferred["text"]) == (
        "SubscriptionLine.Transferred",
        "Transferred to the new reseller on 24 Feb 2026, billed annually.",
    )
    assert baltic.get(f"/v1/clients/{resale.client}") == {
        "id": resale.client,
        "partner_id": str(resale.new),
        "name": END_USER,
        "email": INVOICE_EMAIL,
        "unified_billing": False,
    }
    # Kowalski is Baltic's client now (R-E1); Northwind still reads its own record (R-C8).
    assert story.admin.get(f"/v1/clients/{resale.client}")["partner_id"] == str(resale.new)
    assert northwind.get(f"/v1/clients/{resale.client}")["partner_id"] == str(resale.current)

    story.tick(warsaw(2026, 2, 28))  # the next renewal is Baltic's, billed annually
    renewal = baltic.get(f"/v1/invoices/{open_invoice_of(resale, baltic, 'INV-2026-000002')}")
    assert (renewal["partner_id"], renewal["payer_id"], minor(renewal["total"])) == (
        str(resale.new),
        str(resale.new),
        YEAR,
    )
    assert [(line["period_start"], line["period_end"]) for line in renewal["lines"]] == [
        ("2026-02-28", "2027-02-28")
    ]
    assert [found["id"] for found in baltic.pages(f"/v1/partners/{resale.new}/invoices")] == [
        renewal["id"]
    ]
    assert northwind.missing(f"/v1/invoices/{renewal['id']}")["code"] == "invoice_not_found"
    kowalski = baltic.pages(f"/v1/clients/{resale.client}/invoices")
    assert [found["id"] for found in kowalski] == [renewal["id"]]  # Northwind's stay Northwind's
    assert minor(baltic.get(f"/v1/partners/{resale.new}/balance")["receivable"]) == YEAR
    assert story.trial_balance("PLN")["receivable"] == YEAR


def test_r_e4_r_e3_a_later_preferred_date_is_kept_and_an_invoice_opened_meanwhile_holds_it_back(
    runtime: Runtime, clock: SimulatedClock, client_for: ClientFor, make_key: MakeKey
) -> None:
    story = Story(runtime, clock, client_for, make_key)
    resale = set_up(story)
    northwind, baltic = resale.northwind, resale.baltic
    pay(resale, resale.first_invoice, "przelew-0001")
    # Saturday 31 January, every consent given the same day: the earliest date is Tuesday
    # 3 February, so the preferred Monday 2 March stands.
    request = resale.request(date(2026, 3, 2), "client", "current_reseller")
    northwind.post(resale.transfers, request, key="transfer/all")
    given = baltic.post(resale.consents, {"party": "new_reseller"}, key="consent/baltic")
    assert (given["missing_consents"], given["effective_on"]) == ([], "2026-03-02")

    story.tick(warsaw(2026, 2, 28))  # Northwind still owns the line: its renewal is Northwind's
    march = northwind.get(f"/v1/invoices/{open_invoice_of(resale, northwind, 'INV-2026-000002')}")
    assert (march["partner_id"], minor(march["total"])) == (str(resale.current), MONTH)

    report = story.tick(warsaw(2026, 3, 2))  # the effective date, with the renewal unpaid
    assert (report.done["complete_transfer"], report.refused["complete_transfer"]) == (0, 1)
    held = northwind.get(f"/v1/lines/{resale.line}")
    assert (held["partner_id"], held["transfer"]["effective_on"]) == (
        str(resale.current),
        "2026-03-02",
    )

    clock.set(warsaw(2026, 3, 2, 10))
    pay(resale, march["id"], "przelew-0002")
    assert story.tick(clock.now()).done["complete_transfer"] == 1
    assert baltic.get(f"/v1/lines/{resale.line}")["partner_id"] == str(resale.new)
    assert feed(resale, baltic, resale.new)[-1]["text"] == (
        "Transferred to the new reseller on 2 Mar 2026, billed annually."
    )
    assert story.trial_balance("PLN").get("receivable", 0) == 0


def test_r_e1_r_e2_r_e4_refused_requests_write_nothing_and_a_cancelled_line_is_not_transferred(
    runtime: Runtime, clock: SimulatedClock, client_for: ClientFor, make_key: MakeKey
) -> None:
    story = Story(runtime, clock, client_for, make_key)
    resale = set_up(story)
    northwind = resale.northwind
    pay(resale, resale.first_invoice, "przelew-0001")
    good = resale.request(date(2026, 2, 16), "client", "current_reseller")
    # R-E1: a reseller billing in EUR could neither invoice the PLN line nor take its payment.
    euro = story.admin.post(
        "/v1/partners",
        {"name": "Euro Partners", "currency": "EUR", "time_zone": WARSAW},
        key="open/euro",
    )["id"]
    # R-E2: what the request must carry, and who may ask.
    refusals: list[tuple[dict[str, Any], int, str, dict[str, Any]]] = [
        ({"payment_method": "cash"}, 422, "validation_failed", {}),
        ({"billing": "twelve_months"}, 422, "validation_failed", {}),
        ({"owner_email": "kowalski"}, 422, "invalid_value", {"field": "owner_email"}),
        ({"invoice_email": ""}, 422, "validation_failed", {}),
        ({"end_user_name": "  "}, 422, "invalid_value", {"field": "end_user_name"}),
        (
            {"new_reseller_id": str(resale.current)},
            409,
            "transfer_not_allowed",
            {"reason": "same_reseller"},
        ),
        (
            {"current_reseller_id": str(resale.new), "new_reseller_id": str(resale.current)},
            409,
            "transfer_not_allowed",
            {"reason": "not_current_reseller"},
        ),
        ({"new_reseller_id": str(uuid4())}, 404, "partner_not_found", {}),
        ({"new_reseller_id": euro}, 422, "currency_mismatch", {"expected": "PLN", "got": "EUR"}),
    ]
    before = story.head()
    for index, (changes, status, code, fields) in enumerate(refusals):
        body = {**good, **changes}
        problem = northwind.refused(resale.transfers, body, key=f"bad/{index}", status=status)
        assert problem["code"] == code, (changes, problem)
        assert {name: problem.get(name) for name in fields} == fields
    early = northwind.refused(resale.consents, {"party": "client"}, key="early", status=409)
    assert (early["code"], early["reason"]) == ("transfer_not_allowed", "not_requested")
    assert story.head() == before
    assert northwind.get(f"/v1/lines/{resale.line}")["transfer"] is None

    # R-E4: every consent given; the line is cancelled before the effective date.
    northwind.post(resale.transfers, good, key="transfer/all")
    resale.baltic.post(resale.consents, {"party": "new_reseller"}, key="consent/baltic")
    assert northwind.get(f"/v1/lines/{resale.line}")["transfer"]["effective_on"] == "2026-02-16"
    clock.set(warsaw(2026, 2, 10, 9))
    cancelled = northwind.post(
        f"/v1/lines/{resale.line}/cancel",
        {"reason": "Kowalski stopped using signatures"},
        key="cancel",
    )
    assert cancelled["status"] == "cancelled"

    report = story.tick(warsaw(2026, 2, 16))
    assert (report.done["complete_transfer"], report.refused["complete_transfer"]) == (0, 0)
    line = northwind.get(f"/v1/lines/{resale.line}")
    assert (line["partner_id"], line["status"]) == (str(resale.current), "cancelled")
    assert story.trial_balance("PLN").get("receivable", 0) == 0
