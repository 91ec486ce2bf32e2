"""CraftJack, pay per lead (seed 004) over HTTP (R-L1 … R-L5), the story of
tests/ledger/scenarios/test_craftjack.py told through the API.

A contractor in Los Angeles (UTC-8 all February 2026) signs up on Saturday 2026-01-31: the
vendor opens its account (admin key), and the contractor's own key adds its card with card
autopay and buys one pay-per-lead line at USD 35.00 a lead. The vendor's lead platform records
each delivered lead (admin key); the contractor sets its budget, pays and updates its card
itself. Every card payment adds the 3 % fee as its own line (R-O7).

Not over HTTP, so not asserted here (the ledger scenario asserts them): the billing clock's
schedule (`due`), the budget period and what it has spent (no route shows them: the account's
status and pause reasons on its banner, and the leads refused or accepted, stand in), the
partner account's own events (budget spent, paused, resumed) and the gateway's list of charges
(each invoice's payments and failed attempts show them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from api.runtime import Runtime
from ledger.clock import SimulatedClock
from tests.api.scenarios.support import (
    Api,
    ClientFor,
    Json,
    MakeKey,
    Story,
    minor,
    money,
    of_line,
    oldest_first,
    pay_offline,
    payments,
)
from tests.ledger.scenarios.craftjack_support import local

ZONE = "America/Los_Angeles"
LEADS = uuid5(NAMESPACE_URL, "https://craftjack.example/leads")


def card(number: str, month: int, year: int) -> Json:
    return {
        "kind": "card",
        "number": number,
        "expiry_month": month,
        "expiry_year": year,
        "holder": "Rosa Rivera",
        "cvv": "123",
        "postal_code": "90012",
    }


VISA = card("4242424242424242", 12, 2030)
DECLINING = card("4000000000000002", 12, 2030)
EXPIRING = card("4242424242424242", 1, 2026)
"""Valid on signup day (2026-01-31), expired from February on (R-L5)."""

Bill = tuple[str, str, str, int, int, int, str]
"""An invoice's business fields: number, issued, due, total, leads on it, card fee, status."""


def lead_id(number: int) -> str:
    return str(uuid5(LEADS, f"lead-{number}"))


@dataclass(frozen=True)
class Contractor:
    partner: UUID
    own: Api
    """The contractor's own key."""
    line: str
    method_id: str
    activation: Json


def sign_up(story: Story, with_card: Json = VISA) -> Contractor:
    """The account (the vendor's), the card and card autopay, the active pay-per-lead line."""
    partner, own = story.open_partner("cj/open", "Rivera Roofing", "USD", ZONE)
    return set_up(partner, own, with_card)


def set_up(partner: UUID, own: Api, with_card: Json) -> Contractor:
    """An opened contractor's card and card autopay, and its active pay-per-lead line."""
    method = own.post(
        f"/v1/partners/{partner}/payment-methods",
        {"method": with_card, "make_default": True},
        key="cj/card",
    )
    own.post(f"/v1/partners/{partner}/autopay", {"source": "card"}, key="cj/autopay")
    itself = own.post(
        f"/v1/partners/{partner}/clients",
        {"name": "Rivera Roofing", "unified_billing": False},
        key="cj/self",
    )
    line = own.post(
        "/v1/lines",
        {
            "partner_id": str(partner),
            "client_id": itself["id"],
            "product_code": "lead",
            "payer": "partner",
        },
        key="cj/line",
    )["id"]
    activation = own.post(f"/v1/lines/{line}/activate", key="cj/activate")
    return Contractor(partner, own, line, method["id"], activation)


def lead(number: int, at: datetime, price_minor: int | None) -> Json:
    body: Json = {"lead_id": lead_id(number), "delivered_at": at.isoformat()}
    if price_minor is not None:
        body["price"] = money(price_minor, "USD")
    return body


def deliver(
    story: Story, contractor: Contractor, number: int, at: datetime, price: int | None = None
) -> Json:
    """Lead `number` is delivered at `at` (the clock moves there first); the vendor records it."""
    story.clock.set(at)
    body = lead(number, at, price)
    return story.admin.post(f"/v1/lines/{contractor.line}/leads", body, key=f"cj/lead/{number}")


def refused_lead(story: Story, contractor: Contractor, number: int, at: datetime) -> Json:
    """A lead the paused account refuses (R-L3, R-L4): 409 `account_paused`, with its reasons."""
    story.clock.set(at)
    problem = story.admin.refused(
        f"/v1/lines/{contractor.line}/leads",
        lead(number, at, None),
        key=f"cj/lead/{number}/refused/{at.isoformat()}",
        status=409,
    )
    assert problem["code"] == "account_paused"
    return problem


def invoices(contractor: Contractor) -> list[Json]:
    """Every invoice, whole, in the order issued."""
    own = contractor.own
    listed = oldest_first(own.pages(f"/v1/partners/{contractor.partner}/invoices"))
    return [own.get(f"/v1/invoices/{found['id']}") for found in listed]


def summary(invoice: Json) -> Bill:
    """What a bill is: number, issue and due dates, total, leads on it, card fee, status."""
    leads = [line for line in invoice["lines"] if line["kind"] == "lead"]
    fees = [minor(line["amount"]) for line in invoice["lines"] if line["kind"] == "card_fee"]
    return (
        invoice["number"],
        invoice["issued_on"],
        invoice["due_on"],
        minor(invoice["total"]),
        len(leads),
        sum(fees),
        invoice["status"],
    )


def bills(contractor: Contractor) -> list[Bill]:
    return [summary(invoice) for invoice in invoices(contractor)]


def account(contractor: Contractor) -> Json:
    """The contractor's status as its banner shows it (R-L3, R-L4)."""
    found: Json = contractor.own.get(f"/v1/partners/{contractor.partner}/banner")
    return found


HISTORY: list[tuple[int, datetime, int | None]] = [
    *[(number, local(2, 2, 8 + number), None) for number in range(1, 7)],  # Mon: $210 at once
    (7, local(2, 3, 10), None),  # Tuesday
    (8, local(2, 5, 22, 30), None),  # Thursday night, Friday in UTC
    (9, local(2, 6, 9), None),  # Friday morning: next week's run
    (10, local(2, 18, 16), 5000),  # a $50 lead on Wednesday the 18th
]
"""A February of leads; after the first invoice, never $200 unbilled at once."""
FEBRUARY_BILLS = [
    ("INV-2026-000001", "2026-02-02", "2026-02-02", 21630, 6, 630, "settled"),
    ("INV-2026-000002", "2026-02-06", "2026-02-06", 7210, 2, 210, "settled"),
    ("INV-2026-000003", "2026-02-13", "2026-02-13", 3605, 1, 105, "settled"),
    ("INV-2026-000004", "2026-02-20", "2026-02-20", 5150, 1, 150, "settled"),
]


def check_the_threshold_invoice(story: Story, contractor: Contractor, sixth: Json) -> None:
    """Leads 1-6 on Monday 2026-02-02: $210 unbilled, invoiced and charged at once (R-L2)."""
    own = contractor.own
    assert (sixth["invoice_number"], sixth["charge"]["charge_status"]) == (
        "INV-2026-000001",
        "succeeded",
    )
    invoice = own.get(f"/v1/invoices/{sixth['invoice_id']}")
    # 6 x 3500 = 21000, plus the card fee 630 = 21630, charged on Monday, before Friday.
    assert summary(invoice) == FEBRUARY_BILLS[0]
    assert [line["lead_id"] for line in invoice["lines"][:6]] == [lead_id(n) for n in range(1, 7)]
    # Each lead's line names its product and its lead, worded from what the line recorded
    # (the product's code and the lead's id: issue 17), never a stored sentence.
    assert [line["description"] for line in invoice["lines"][:2]] == [
        f"Lead, lead {lead_id(1)[:8]}",
        f"Lead, lead {lead_id(2)[:8]}",
    ]
    assert {line["product_code"] for line in invoice["lines"][:6]} == {"lead"}
    assert payments(invoice) == [("card", 21630, 630)]
    line = own.get(f"/v1/lines/{contractor.line}")
    assert (line["leads"]["unbilled_count"], line["open_invoices"]) == (0, [])


def test_r_l1_r_l2_a_february_of_leads_ticked_day_by_day_bills_at_200_dollars_and_on_fridays(
    runtime: Runtime, clock: SimulatedClock, client_for: ClientFor, make_key: MakeKey
) -> None:
    story = Story(runtime, clock, client_for, make_key)
    contractor = sign_up(story)
    # R-L1: no subscription fee.
    assert (contractor.activation["status"], contractor.activation["invoice_id"]) == (
        "active",
        None,
    )
    leads = story.admin.get(f"/v1/lines/{contractor.line}")["leads"]
    assert (leads["threshold"], leads["unbilled_count"]) == (money(20000, "USD"), 0)

    pending = list(HISTORY)
    for midnight in [*(local(2, day) for day in range(1, 29)), local(3, 1)]:
        while pending and pending[0][1] < midnight:
            number, at, price = pending.pop(0)
            answer = deliver(story, contractor, number, at, price)
            if number < 6:
                assert answer["invoice_id"] is None
            elif number == 6:
                check_the_threshold_invoice(story, contractor, answer)
        if midnight == local(2, 6):
            # Thursday 23:59 in Los Angeles (Friday 07:59 UTC): not Friday yet for it.
            assert story.tick(local(2, 5, 23, 59)).total == 0
            assert len(bills(contractor)) == 1
        story.tick(midnight)
        if midnight == local(2, 2):
            assert bills(contractor) == []  # nothing is billed before a lead arrives (R-L1)
    story.tick(local(3, 1))

    assert bills(contractor) == FEBRUARY_BILLS
    second = invoices(contractor)[1]
    # Thursday 22:30 in Los Angeles is already Friday in UTC: still Thursday's lead (R-X7).
    assert [line["lead_id"] for line in second["lines"] if line["lead_id"]] == [
        lead_id(7),
        lead_id(8),
    ]
    feed = list(
        of_line(story.admin.pages(f"/v1/partners/{contractor.partner}/activity"), contractor.line)
    )
    delivered = [e["text"] for e in feed if e["kind"] == "SubscriptionLine.LeadRecorded"]
    assert delivered[7] == "Lead delivered on 5 Feb 2026, charged 35.00 USD."
    assert delivered[9] == "Lead delivered on 18 Feb 2026, charged 50.00 USD."  # its own price
    books = story.trial_balance("USD")
    assert (
        books.get("receivable", 0),
        books["cash_clearing"],
        books["revenue_leads"],
        books["card_fee_revenue"],
    ) == (0, 37595, -36500, -1095)


def test_r_l2_ticking_february_in_one_call_bills_as_ticking_it_day_by_day(
    runtime: Runtime, clock: SimulatedClock, client_for: ClientFor, make_key: MakeKey
) -> None:
    """The same leads at the same instants, and one tick on March 1st: a run late for Friday
    the 6th still bills only the leads delivered up to Thursday the 5th, and leaves the later
    ones to the Fridays after (R-L2)."""
    story = Story(runtime, clock, client_for, make_key)
    contractor = sign_up(story)
    for number, at, price in HISTORY:
        answer = deliver(story, contractor, number, at, price)
        if number == 6:
            check_the_threshold_invoice(story, contractor, answer)
    leads = story.admin.get(f"/v1/lines/{contractor.line}")["leads"]
    assert (leads["unbilled_count"], leads["unbilled_total"]) == (4, money(15500, "USD"))
    assert leads["threshold_reached"] is False

    story.tick(local(3, 1))

    assert bills(contractor) == FEBRUARY_BILLS


def test_r_l3_the_budget_pauses_the_account_until_the_signup_day_of_month(
    runtime: Runtime, clock: SimulatedClock, client_for: ClientFor, make_key: MakeKey
) -> None:
    story = Story(runtime, clock, client_for, make_key)
    contractor = sign_up(story)
    budget = {"amount": money(10500, "USD")}  # three leads a month
    assert (
        contractor.own.post(f"/v1/partners/{contractor.partner}/budget", budget, key="cj/budget")[
            "status"
        ]
        == "active"
    )

    assert deliver(story, contractor, 1, local(2, 2, 9))["budget_reached"] is False
    deliver(story, contractor, 2, local(2, 2, 10))
    third = deliver(story, contractor, 3, local(2, 3, 10))

    assert third["budget_reached"] is True
    paused = account(contractor)
    assert (paused["status"], paused["pause_reasons"]) == ("paused", ["budget_reached"])
    refused = refused_lead(story, contractor, 4, local(2, 4, 10))
    assert refused["reasons"] == ["budget_reached"]
    assert story.admin.get(f"/v1/lines/{contractor.line}")["leads"]["unbilled_count"] == 3

    story.tick(local(2, 6))  # the leads delivered are still billed: 10500 + 315
    assert [bill[3:] for bill in bills(contractor)] == [(10815, 3, 315, "settled")]

    # February 27th, 23:59 in Los Angeles is already the 28th in UTC: not the signup day.
    story.tick(local(2, 27, 23, 59))
    assert account(contractor)["status"] == "paused"
    refused_lead(story, contractor, 5, local(2, 27, 23, 59))

    story.tick(local(2, 28))  # signed up on the 31st: the month's last day in February
    resumed = account(contractor)
    assert (resumed["status"], resumed["pause_reasons"]) == ("active", [])
    fifth = deliver(story, contractor, 5, local(2, 28, 10))
    assert fifth["budget_reached"] is False  # a new month of budget


def test_r_l4_r_x2_a_declined_card_gives_a_week_of_grace_then_pauses_until_paid(
    runtime: Runtime, clock: SimulatedClock, client_for: ClientFor, make_key: MakeKey
) -> None:
    story = Story(runtime, clock, client_for, make_key)
    contractor = sign_up(story, DECLINING)
    own, partner = contractor.own, contractor.partner
    for number in range(1, 7):
        sixth = deliver(story, contractor, number, local(2, 2, 8 + number))
    assert (sixth["charge"]["charge_status"], sixth["charge"]["decline_code"]) == (
        "declined",
        "card_declined",
    )
    first = sixth["invoice_id"]
    assert own.get(f"/v1/invoices/{first}")["last_decline_code"] == "card_declined"
    grace = account(contractor)
    assert (grace["status"], grace["grace_ends_on"]) == ("in_grace", "2026-02-09")

    deliver(story, contractor, 7, local(2, 4, 10))  # leads keep coming in grace
    # Friday: 3500, declined too (no fee is owed on a charge that failed).
    story.tick(local(2, 6))
    second = invoices(contractor)[1]
    assert summary(second)[:6] == ("INV-2026-000002", "2026-02-06", "2026-02-06", 3500, 1, 0)
    missed = account(contractor)["banner"]
    assert [(i["number"], i["kind"]) for line in missed["lines"] for i in line["invoices"]] == [
        ("INV-2026-000001", "failed"),
        ("INV-2026-000002", "failed"),
    ]
    story.tick(local(2, 8, 23, 59))
    assert account(contractor)["status"] == "in_grace"
    assert minor(own.get(f"/v1/partners/{partner}/balance")["receivable"]) == 24500

    # A week after the missed payment.
    assert story.tick(local(2, 9)).done["expire_grace"] == 1
    assert account(contractor)["pause_reasons"] == ["payment_overdue"]
    assert refused_lead(story, contractor, 8, local(2, 9, 10))["reasons"] == ["payment_overdue"]

    clock.set(local(2, 10, 11))
    wire = {"source": "bank_transfer", "reference": "wire 1"}
    assert pay_offline(own, first, wire, key="cj/wire/1")["status"] == "settled"
    assert account(contractor)["status"] == "paused"  # 3500 still owed
    assert minor(own.get(f"/v1/partners/{partner}/balance")["receivable"]) == 3500

    wire = {"source": "bank_transfer", "reference": "wire 2"}
    pay_offline(own, second["id"], wire, key="cj/wire/2")
    settled = account(contractor)
    assert (settled["status"], settled["pause_reasons"], settled["banner"]) == ("active", [], None)
    deliver(story, contractor, 8, local(2, 10, 12))  # leads flow again
    books = story.trial_balance("USD")
    assert (books.get("receivable", 0), books["cash_clearing"], books["revenue_leads"]) == (
        0,
        24500,
        -24500,
    )


def test_r_l5_r_x2_updating_an_expired_card_charges_what_is_overdue_and_resumes(
    runtime: Runtime, clock: SimulatedClock, client_for: ClientFor, make_key: MakeKey
) -> None:
    story = Story(runtime, clock, client_for, make_key)
    contractor = sign_up(story, EXPIRING)  # valid on January 31st, expired in February
    own, partner = contractor.own, contractor.partner
    for number in range(1, 7):
        deliver(story, contractor, number, local(2, 2, 8 + number))
    deliver(story, contractor, 7, local(2, 4, 10))
    story.tick(local(2, 6))
    first, second = (found["id"] for found in invoices(contractor))
    assert [own.get(f"/v1/invoices/{i}")["last_decline_code"] for i in (first, second)] == [
        "expired_card",
        "expired_card",
    ]
    story.tick(local(2, 9))
    assert account(contractor)["status"] == "paused"

    clock.set(local(2, 10, 10))
    methods = f"/v1/partners/{partner}/payment-methods"
    replaced = own.post(
        f"{methods}/{contractor.method_id}/replace",
        {"method": VISA, "outstanding": "charge_all"},
        key="cj/card/update",
    )

    # 21000 + 630 and 3500 + 105, each with its card fee line (R-O7).
    charged = [own.get(f"/v1/invoices/{i}") for i in (first, second)]
    assert [summary(invoice)[3:] for invoice in charged] == [
        (21630, 6, 630, "settled"),
        (3605, 1, 105, "settled"),
    ]
    assert [
        [(minor(a["amount"]), a["decline_code"]) for a in invoice["failed_attempts"]]
        for invoice in charged
    ] == [[(21630, "expired_card")], [(3605, "expired_card")]]
    assert [payments(invoice) for invoice in charged] == [
        [("card", 21630, 630)],
        [("card", 3605, 105)],
    ]
    resumed = account(contractor)
    assert (resumed["status"], resumed["pause_reasons"], resumed["banner"]) == ("active", [], None)
    [kept] = own.get(methods)["items"]
    assert (kept["method_id"], kept["is_default"]) == (replaced["id"], True)
    assert kept["method_id"] != contractor.method_id
    books = story.trial_balance("USD")
    assert (
        books.get("receivable", 0),
        books["cash_clearing"],
        books["revenue_leads"],
        books["card_fee_revenue"],
    ) == (0, 25235, -24500, -735)
    deliver(story, contractor, 8, local(2, 10, 12))  # leads flow again
    story.never_shown("4242424242424242", "4000000000000002")
