"""Housecall Pro (seed 003) over HTTP: client-paid service plans, failed and overdue payments
(R-H1 … R-H7), the story of tests/ledger/scenarios/test_housecall.py told through the API.

The vendor opens Sparkle Plumbing (admin key); Sparkle's own key does the rest, recording for
its customer Dana Whitfield what she does in Sparkle's portal (accepting a plan, giving a
card). Plans cost 39.00 USD a month, paid by Dana; a card adds the 3 % fee (40.17 USD charged).
The simulated clock starts on Saturday 31 January 2026.

Not over HTTP, so not asserted here (the ledger scenario asserts them): the e-mails of R-H4 and
the refund receipts of R-H6 (the outbox has no route), the billing clock's schedule (the line's
`current_period` stands in for its next renewal day), and the gateway's own list of charges
(the invoices' payments and failed attempts show each charge).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

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
    pay_offline,
    payments,
)
from tests.ledger.scenarios.exclaimer_housecall_support import local

LOS_ANGELES = "America/Los_Angeles"
PLAN = 39_00
CHARGED = 40_17
"""39.00 USD and its 3 % card fee of 1.17 USD (R-O7)."""
ANNUAL_PLAN = 468_00
CLIENT_EMAIL = "dana@whitfield.example"
BUSINESS_EMAIL = "office@sparkle.example"
MARKED_PAID_NOTE = "marked as paid when the card was updated"


def card(number: str, month: int, year: int, cvv: str) -> Json:
    return {
        "number": number,
        "expiry_month": month,
        "expiry_year": year,
        "holder": "Dana Whitfield",
        "cvv": cvv,
        "postal_code": "90012",
    }


EXPIRING = card("4242424242424242", 2, 2026, "123")
"""Good through February 2026: the March renewal finds it expired."""
NEW_CARD = card("5555555555554444", 12, 2030, "321")
SPARE_CARD = card("4242424242424242", 12, 2031, "456")


def la(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return local(LOS_ANGELES, year, month, day, hour, minute)


def usd(amount_minor: int) -> Json:
    return money(amount_minor, "USD")


@dataclass(frozen=True)
class Business:
    """Sparkle Plumbing (its own key) and its customer Dana, who pays for her own plans."""

    sparkle: Api
    partner: UUID
    client: UUID


def open_business(story: Story) -> Business:
    partner, sparkle = story.open_partner("open/sparkle", "Sparkle Plumbing", "USD", LOS_ANGELES)
    sparkle.post(
        f"/v1/partners/{partner}/billing-profile",
        {
            "entity": "Sparkle Plumbing LLC",
            "address": {
                "lines": ["100 Main St"],
                "city": "Los Angeles",
                "postal_code": "90012",
                "country": "US",
            },
            "billing_email": BUSINESS_EMAIL,
        },
        key="profile/sparkle",
    )
    client = sparkle.post(
        f"/v1/partners/{partner}/clients",
        {"name": "Dana Whitfield", "email": CLIENT_EMAIL, "unified_billing": False},
        key="client/dana",
    )
    return Business(sparkle, partner, UUID(client["id"]))


def create(business: Business, name: str, term: str = "monthly") -> Json:
    return business.sparkle.post(
        "/v1/lines",
        {
            "partner_id": str(business.partner),
            "client_id": str(business.client),
            "product_code": "service-plan",
            "term": term,
            "payer": "client",
        },
        key=f"{name}/create",
    )


def plan(
    business: Business, name: str, *, term: str = "monthly", with_card: Json | None = None
) -> tuple[str, Json]:
    """A plan Dana accepted and that started today: the line and the activation's answer."""
    sparkle = business.sparkle
    line = create(business, name, term)["id"]
    if with_card is not None:
        sparkle.post(f"/v1/lines/{line}/card", {"card": with_card}, key=f"{name}/card")
    sparkle.post(f"/v1/lines/{line}/send", key=f"{name}/send")
    sparkle.post(f"/v1/lines/{line}/accept", key=f"{name}/accept")
    activated = sparkle.post(f"/v1/lines/{line}/activate", key=f"{name}/activate")
    if with_card is not None:  # autopay charged the card at once
        assert activated["charge"]["charge_status"] == "succeeded", activated
    return line, activated


def banner(api: Api, client: UUID) -> dict[str | None, int] | None:
    """What Dana's banner shows per plan (minor units), or None when there is no banner."""
    shown = api.get(f"/v1/clients/{client}/banner")["banner"]
    if shown is None:
        return None
    per_plan = {line["line_id"]: minor(line["owed"]) for line in shown["lines"]}
    assert minor(shown["total"]) == sum(per_plan.values())
    return per_plan


@dataclass(frozen=True)
class Owing:
    """On 30 April: the card plan's March and April renewals failed; the annual one is overdue."""

    business: Business
    card_plan: str
    annual_plan: str
    march: str
    april: str
    annual: str


def owing(story: Story) -> Owing:
    """Two plans; the annual one (bank transfer) turns overdue on 15 February (R-H2, R-H3);
    the card one's card expires with February, so March and April fail (R-H2)."""
    business = open_business(story)
    sparkle = business.sparkle
    card_plan, first = plan(business, "monthly", with_card=EXPIRING)
    assert minor(sparkle.get(f"/v1/invoices/{first['invoice_id']}")["paid"]) == CHARGED
    annual_plan, activated = plan(business, "annual", term="annual")
    annual = activated["invoice_id"]
    billed = sparkle.get(f"/v1/invoices/{annual}")
    assert (minor(billed["total"]), billed["due_on"]) == (ANNUAL_PLAN, "2026-02-14")

    story.tick(la(2026, 2, 14, 23, 59))  # the last minute of the due date in Los Angeles
    due = sparkle.get(f"/v1/invoices/{annual}")
    assert (due["overdue"], due["status"]) == (False, "open")
    assert banner(sparkle, business.client) is None

    story.tick(la(2026, 2, 15))
    late = sparkle.get(f"/v1/invoices/{annual}")
    assert (late["overdue"], late["failed"], minor(late["outstanding"])) == (
        True,
        False,
        ANNUAL_PLAN,
    )
    # One plan owing: the banner links to it (R-H3).
    shown = sparkle.get(f"/v1/clients/{business.client}/banner")["banner"]
    assert (shown["links_to"], shown["line_id"]) == ("line", annual_plan)
    assert banner(sparkle, business.client) == {annual_plan: ANNUAL_PLAN}
    feed = sparkle.pages(f"/v1/partners/{business.partner}/activity")
    assert list(of_line(feed, annual_plan))[-1]["text"] == (
        "Invoice INV-2026-000002 is overdue since 15 Feb 2026."
    )

    for instant in (la(2026, 2, 28), la(2026, 3, 31), la(2026, 4, 30)):
        story.tick(instant)
    open_invoices = sparkle.get(f"/v1/lines/{card_plan}")["open_invoices"]
    # INV-2026-000003 was February's renewal, paid by the card while it was still good.
    assert [found["number"] for found in open_invoices] == ["INV-2026-000004", "INV-2026-000005"]
    march, april = (found["invoice_id"] for found in open_invoices)
    return Owing(business, card_plan, annual_plan, march, april, annual)


def story_of(
    runtime: Runtime, clock: SimulatedClock, client_for: ClientFor, make_key: MakeKey
) -> Story:
    return Story(runtime, clock, client_for, make_key)


def test_r_h1_r_h6_r_h7_a_plan_goes_draft_pending_active_a_cheque_is_not_refunded_it_is_cancelled(
    runtime: Runtime, clock: SimulatedClock, client_for: ClientFor, make_key: MakeKey
) -> None:
    story = story_of(runtime, clock, client_for, make_key)
    business = open_business(story)
    sparkle = business.sparkle
    created = create(business, "plan")
    line = created["id"]
    assert created["status"] == "draft"
    assert sparkle.post(f"/v1/lines/{line}/send", key="send")["status"] == "pending"
    too_soon = sparkle.refused(f"/v1/lines/{line}/activate", key="activate/too-soon", status=409)
    assert too_soon["code"] == "invalid_transition"  # sent, but Dana has not accepted yet
    assert sparkle.post(f"/v1/lines/{line}/accept", key="accept")["status"] == "pending"
    assert sparkle.get(f"/v1/lines/{line}")["accepted"] is True

    activated = sparkle.post(f"/v1/lines/{line}/activate", key="activate")
    assert (activated["status"], activated["period_end"]) == ("active", "2026-02-28")
    invoice = sparkle.get(f"/v1/invoices/{activated['invoice_id']}")
    assert (invoice["payer"], invoice["payer_id"]) == ("client", str(business.client))
    assert (minor(invoice["total"]), invoice["due_on"]) == (PLAN, "2026-02-14")
    assert invoice["expected_source"] == "bank_transfer"
    period = sparkle.get(f"/v1/lines/{line}")["current_period"]
    assert period == {"start": "2026-01-31", "end": "2026-02-28"}  # renews on 28 February

    clock.set(la(2026, 2, 3, 9))
    paid = pay_offline(
        sparkle, invoice["id"], {"source": "cheque", "reference": "cheque 1042"}, key="pay"
    )
    assert paid["status"] == "settled"
    # R-H6: a cheque is not refunded through the plan, and the refusal writes nothing.
    before = story.head()
    refused = sparkle.refused(
        f"/v1/invoices/{invoice['id']}/refunds",
        {"payment_id": paid["payment_id"], "amount": usd(PLAN), "reason": "Cheque handed back"},
        key="refund",
        status=409,
    )
    assert (refused["code"], refused["source"]) == ("offline_payment_not_refundable", "cheque")
    assert story.head() == before
    assert sparkle.get(f"/v1/invoices/{invoice['id']}")["refunds"] == []

    cancelled = sparkle.post(f"/v1/lines/{line}/cancel", {"reason": "Dana sold the house"}, key="c")
    assert cancelled["status"] == "cancelled"
    again = sparkle.refused(f"/v1/lines/{line}/cancel", {"reason": "Twice"}, key="c2", status=409)
    assert again["code"] == "invalid_transition"
    shown = sparkle.get(f"/v1/lines/{line}")
    assert (shown["status"], shown["open_invoices"]) == ("cancelled", [])

    # R-H7: the plan's activity feed, in order, in words.
    feed = list(of_line(sparkle.pages(f"/v1/partners/{business.partner}/activity"), line))
    assert [entry["kind"] for entry in feed] == [
        "SubscriptionLine.Created",
        "SubscriptionLine.Sent",
        "SubscriptionLine.Accepted",
        "SubscriptionLine.Activated",
        "SubscriptionLine.Invoiced",
        "Invoice.PaymentReceived",
        "SubscriptionLine.InvoiceSettled",
        "SubscriptionLine.Cancelled",
    ]
    positions = [entry["position"] for entry in feed]
    assert positions == sorted(positions)
    assert [entry["recorded_at"] for entry in feed] == sorted(e["recorded_at"] for e in feed)
    assert feed[-1]["text"] == "Cancelled on 3 Feb 2026: Dana sold the house."
    assert story.trial_balance("USD").get("receivable", 0) == 0


def test_r_h6_a_card_payment_is_refunded_in_part_then_in_full_never_above_it(
    runtime: Runtime, clock: SimulatedClock, client_for: ClientFor, make_key: MakeKey
) -> None:
    story = story_of(runtime, clock, client_for, make_key)
    business = open_business(story)
    sparkle = business.sparkle
    _, activated = plan(business, "monthly", with_card=NEW_CARD)
    invoice_id = activated["invoice_id"]
    [payment] = sparkle.get(f"/v1/invoices/{invoice_id}")["payments"]
    assert (payment["source"], minor(payment["amount"])) == ("card", CHARGED)
    refunds = f"/v1/invoices/{invoice_id}/refunds"

    def refund(amount: int, reason: str) -> Json:
        return {"payment_id": payment["payment_id"], "amount": usd(amount), "reason": reason}

    clock.set(la(2026, 2, 10, 11))
    first = sparkle.post(refunds, refund(15_00, "Visit missed"), key="refund/1")
    assert (first["status"], minor(first["outstanding"])) == ("settled", 0)
    over = sparkle.refused(refunds, refund(25_18, "Too much"), key="refund/x", status=409)
    assert (over["code"], over["refundable"]) == ("refund_exceeds_payment", 25_17)
    sparkle.post(refunds, refund(25_17, "Plan refunded"), key="refund/2")
    nothing_left = sparkle.refused(refunds, refund(1, "One cent more"), key="refund/y", status=409)
    assert nothing_left["refundable"] == 0

    refunded = sparkle.get(f"/v1/invoices/{invoice_id}")
    assert minor(refunded["refunded"]) == CHARGED
    assert [minor(p["refunded"]) for p in refunded["payments"]] == [CHARGED]
    assert [
        (minor(r["amount"]), r["source"], r["refunded_on"], r["payment_id"])
        for r in refunded["refunds"]
    ] == [
        (15_00, "card", "2026-02-10", payment["payment_id"]),
        (25_17, "card", "2026-02-10", payment["payment_id"]),
    ]
    books = story.trial_balance("USD")
    assert (books["refunds"], books.get("receivable", 0)) == (CHARGED, 0)
    story.never_shown("5555555555554444", '"321"')  # R-X4


def test_r_h2_r_h3_r_h5_declined_renewals_and_an_overdue_plan_are_owed_until_a_new_card_pays_all(
    runtime: Runtime, clock: SimulatedClock, client_for: ClientFor, make_key: MakeKey
) -> None:
    story = story_of(runtime, clock, client_for, make_key)
    state = owing(story)
    sparkle, client = state.business.sparkle, state.business.client

    march = sparkle.get(f"/v1/invoices/{state.march}")
    assert (march["status"], march["failed"], march["overdue"]) == ("open", True, False)
    assert (minor(march["outstanding"]), march["last_decline_code"]) == (PLAN, "expired_card")
    assert [
        (a["source"], minor(a["amount"]), a["attempted_on"], a["decline_code"], a["reason"])
        for a in march["failed_attempts"]
    ] == [("card", CHARGED, "2026-03-31", "expired_card", "The card has expired.")]  # R-H4
    assert sparkle.get(f"/v1/invoices/{state.april}")["failed"] is True

    # The banner: failed (card) and overdue (bank) both count, across both plans (R-H2, R-H3).
    shown = sparkle.get(f"/v1/clients/{client}/banner")["banner"]
    assert (minor(shown["total"]), shown["links_to"], shown["line_id"]) == (546_00, "list", None)
    assert banner(sparkle, client) == {state.card_plan: 78_00, state.annual_plan: ANNUAL_PLAN}
    owed = {
        i["number"]: (i["kind"], i["decline_code"]) for x in shown["lines"] for i in x["invoices"]
    }
    assert owed == {
        "INV-2026-000002": ("overdue", None),
        "INV-2026-000004": ("failed", "expired_card"),
        "INV-2026-000005": ("failed", "expired_card"),
    }
    assert story.trial_balance("USD")["receivable"] == 546_00
    plan_before = sparkle.get(f"/v1/lines/{state.card_plan}")["current_period"]
    assert plan_before == {"start": "2026-04-30", "end": "2026-05-31"}

    # R-H5: Dana updates her card and chooses to charge everything pending to it.
    clock.set(la(2026, 5, 2, 10))
    update = {"card": NEW_CARD, "outstanding": "charge_all"}
    updated = sparkle.post(f"/v1/lines/{state.card_plan}/card", update, key="card/update")
    assert updated["outstanding"] == [state.march, state.april]
    assert [(c["invoice_id"], c["charge_status"]) for c in updated["charges"]] == [
        (state.march, "succeeded"),
        (state.april, "succeeded"),
    ]
    assert updated["card"] == {
        "brand": "mastercard",
        "last4": "4444",
        "expiry_month": 12,
        "expiry_year": 2030,
    }
    for invoice_id in (state.march, state.april):
        paid = sparkle.get(f"/v1/invoices/{invoice_id}")
        assert (paid["status"], minor(paid["total"])) == ("settled", CHARGED)
        assert payments(paid) == [("card", CHARGED, 117)]
    line = sparkle.get(f"/v1/lines/{state.card_plan}")
    assert (line["card"]["last4"], line["current_period"]) == ("4444", plan_before)
    assert banner(sparkle, client) == {state.annual_plan: ANNUAL_PLAN}

    # The same update sent again is answered as before and charges nothing more (R-X5).
    head = story.head()
    again = sparkle.replay(f"/v1/lines/{state.card_plan}/card", update, key="card/update")
    assert again == updated
    assert story.head() == head
    assert payments(sparkle.get(f"/v1/invoices/{state.march}")) == [("card", CHARGED, 117)]

    story.tick(la(2026, 5, 31))  # the billing day it always had, now on the new card
    june = sparkle.get(f"/v1/lines/{state.card_plan}")
    assert june["current_period"] == {"start": "2026-05-31", "end": "2026-06-30"}
    assert june["open_invoices"] == []
    assert story.trial_balance("USD")["receivable"] == ANNUAL_PLAN

    # A card added to the plan whose bank payment is overdue charges it too, with its fee.
    spare = {"card": SPARE_CARD, "outstanding": "charge_all"}
    annual = sparkle.post(f"/v1/lines/{state.annual_plan}/card", spare, key="card/annual")
    assert [c["charge_status"] for c in annual["charges"]] == ["succeeded"]
    assert minor(sparkle.get(f"/v1/invoices/{state.annual}")["paid"]) == 482_04  # + 14.04 fee
    assert sparkle.get(f"/v1/lines/{state.annual_plan}")["current_period"] == {
        "start": "2026-01-31",
        "end": "2027-01-31",
    }
    assert banner(sparkle, client) is None
    assert story.trial_balance("USD").get("receivable", 0) == 0
    story.never_shown("4242424242424242", "5555555555554444")  # R-X4


def test_r_h2_r_h3_r_h5_mark_paid_settles_what_is_pending_without_a_charge_then_cash_pays_the_rest(
    runtime: Runtime, clock: SimulatedClock, client_for: ClientFor, make_key: MakeKey
) -> None:
    story = story_of(runtime, clock, client_for, make_key)
    state = owing(story)
    sparkle, client = state.business.sparkle, state.business.client
    plan_before = sparkle.get(f"/v1/lines/{state.card_plan}")["current_period"]

    clock.set(la(2026, 5, 2, 10))  # Sparkle took the money another way and updates the card
    marked = sparkle.post(
        f"/v1/lines/{state.card_plan}/card",
        {"card": NEW_CARD, "outstanding": "mark_paid"},
        key="card/update",
    )
    assert (marked["outstanding"], marked["charges"]) == ([state.march, state.april], [])
    for invoice_id in (state.march, state.april):
        paid = sparkle.get(f"/v1/invoices/{invoice_id}")
        assert (paid["status"], minor(paid["total"])) == ("settled", PLAN)  # no card, no fee
        [payment] = paid["payments"]
        assert (payment["source"], minor(payment["amount"])) == ("other", PLAN)
        assert (payment["note"], payment["received_on"]) == (MARKED_PAID_NOTE, "2026-05-02")
        assert len(paid["failed_attempts"]) == 1  # the March or April decline, and no new charge
    line = sparkle.get(f"/v1/lines/{state.card_plan}")
    assert line["current_period"] == plan_before

    # With nothing pending, a card update only stores the card.
    later = sparkle.post(
        f"/v1/lines/{state.card_plan}/card",
        {"card": SPARE_CARD, "outstanding": "charge_all"},
        key="card/update-2",
    )
    assert (later["outstanding"], later["charges"]) == ([], [])
    assert sparkle.get(f"/v1/lines/{state.card_plan}")["current_period"] == plan_before
    assert banner(sparkle, client) == {state.annual_plan: ANNUAL_PLAN}
    assert story.trial_balance("USD")["receivable"] == ANNUAL_PLAN

    # R-H2, R-H3: Dana pays the overdue annual plan in cash; the banner goes.
    clock.set(la(2026, 5, 4, 16))
    pay_offline(
        sparkle, state.annual, {"source": "cash", "reference": "receipt 0117"}, key="pay/cash"
    )
    assert sparkle.get(f"/v1/invoices/{state.annual}")["status"] == "settled"
    assert banner(sparkle, client) is None
    assert story.trial_balance("USD").get("receivable", 0) == 0


def test_a_commands_position_covers_the_charges_it_made_so_a_read_after_it_sees_them(
    runtime: Runtime, clock: SimulatedClock, client_for: ClientFor, make_key: MakeKey
) -> None:
    """Activation with a card and a card update with `charge_all` charge right after the
    command: the position they answer must include those charges, or a client reading its
    own write with `min_position` may see the invoice still unpaid."""
    story = story_of(runtime, clock, client_for, make_key)
    business = open_business(story)
    sparkle = business.sparkle
    line = create(business, "declined")["id"]
    declined = card("4000000000000002", 12, 2030, "123")
    sparkle.post(f"/v1/lines/{line}/card", {"card": declined}, key="declined/card")
    activated = sparkle.post(f"/v1/lines/{line}/activate", key="declined/activate")
    assert activated["charge"]["charge_status"] == "declined"
    updated = sparkle.post(
        f"/v1/lines/{line}/card",
        {"card": NEW_CARD, "outstanding": "charge_all"},
        key="declined/new-card",
    )
    assert [c["charge_status"] for c in updated["charges"]] == ["succeeded"]

    story.head()  # everything is applied: the invoice's own position is where it last changed
    invoice = sparkle.get(f"/v1/invoices/{activated['invoice_id']}")
    assert invoice["status"] == "settled"
    assert invoice["failed_attempts"][0]["decline_code"] == "card_declined"
    assert activated["position"] < updated["position"]
    assert invoice["position"] <= updated["position"]
    feed = list(of_line(sparkle.pages(f"/v1/partners/{business.partner}/activity"), line))
    [failed] = [e["position"] for e in feed if e["kind"] == "Invoice.PaymentFailed"]
    [received] = [e["position"] for e in feed if e["kind"] == "Invoice.PaymentReceived"]
    assert failed <= activated["position"]
    assert received <= updated["position"]
