"""Otter unified billing (seed 000) over HTTP (R-O1 … R-O7), the story of
tests/ledger/scenarios/test_otter.py told through the API.

The vendor opens the account of Ghost Kitchens, a partner in New York (admin key); the
partner's own key records its billing profile and payment methods, registers its clients and
buys their POS integrations ($49 per location per month). The simulated clock starts on
Saturday 2026-01-31 09:30 UTC, 04:30 in New York; the billing clock is ticked by hand.

Not over HTTP, so not asserted here (the ledger scenario asserts them): the billing profile
once recorded (no route reads it back), the partner's billing anchor, anchor day, next billing
date and deferred charges (no route shows the account's schedule; the lines' current periods
stand in), the invoice e-mails of R-O5 (the outbox has no route), and the event store's own
rows being free of card numbers (R-X4: here, no response shows one).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from api.runtime import Runtime
from ledger.clock import SimulatedClock
from tests.api.scenarios.support import (
    Api,
    ClientFor,
    Json,
    MakeKey,
    Story,
    card_fees,
    minor,
    oldest_first,
    pay_offline,
    payments,
    products,
)

NEW_YORK = "America/New_York"
BILLING_EMAIL = "billing@ghostkitchens.example"
PROFILE = {
    "entity": "Ghost Kitchens Inc",
    "address": {
        "lines": ["350 Fifth Avenue", "Suite 4100"],
        "city": "New York",
        "postal_code": "10118",
        "country": "US",
    },
    "billing_email": BILLING_EMAIL,
}


def card(number: str, month: int, year: int, cvv: str) -> Json:
    return {
        "kind": "card",
        "number": number,
        "expiry_month": month,
        "expiry_year": year,
        "holder": "Maria Lopez",
        "cvv": cvv,
        "postal_code": "10118",
    }


VISA = card("4242424242424242", 12, 2030, "123")
MASTERCARD = card("5555555555554444", 8, 2031, "321")
EXPIRED_AT_BANK = card("4000000000000069", 12, 2030, "123")
ACH = {
    "kind": "ach",
    "routing_number": "110000000",
    "account_number": "000123456789",
    "name_on_account": "Ghost Kitchens Inc",
}
SEAT = 4900  # $49.00 per location per month
SEAT_FEE = 147  # 3 % of $49.00 (R-O7)
FEE = "Card processing fee (3 %)"
JAN_31_TO_FEB_28 = ("2026-01-31", "2026-02-28")
FEB_28_TO_MAR_31 = ("2026-02-28", "2026-03-31")
MAR_31_TO_APR_30 = ("2026-03-31", "2026-04-30")


def at(year: int, month: int, day: int) -> datetime:
    """15:00 UTC, 10:00 or 11:00 in New York: that day's work is due."""
    return datetime(year, month, day, 15, tzinfo=UTC)


def place(name: str) -> Json:
    location = uuid5(NAMESPACE_URL, f"https://otter.example/locations/{name}")
    return {"location_id": str(location), "name": name}


def open_partner(
    story: Story, *, method: Json | None = VISA, autopay: str | None = "card"
) -> tuple[UUID, Api]:
    """R-O1: billing entity, address, e-mail and a card; new invoices charge it (autopay)."""
    partner, ghost = story.open_partner("open", "Ghost Kitchens Inc", "USD", NEW_YORK)
    ghost.post(f"/v1/partners/{partner}/billing-profile", PROFILE, key="bp")
    if method is not None:
        body = {"method": method, "make_default": True}
        ghost.post(f"/v1/partners/{partner}/payment-methods", body, key="card")
    if autopay is not None:
        ghost.post(f"/v1/partners/{partner}/autopay", {"source": autopay}, key="autopay")
    return partner, ghost


def unified_client(
    ghost: Api, partner: UUID, name: str, *places: str, email: str | None = None
) -> tuple[str, str]:
    """A client in unified billing with one POS line over its locations, activated today."""
    slug = name.lower().replace(" ", "-")  # an Idempotency-Key is printable ASCII, no spaces
    registered: dict[str, Any] = {"name": name, "unified_billing": True}
    if email is not None:
        registered["email"] = email
    client = ghost.post(f"/v1/partners/{partner}/clients", registered, key=f"c/{slug}")["id"]
    line = ghost.post(
        "/v1/lines",
        {
            "partner_id": str(partner),
            "client_id": client,
            "product_code": "pos-location",
            "unified_billing": True,
            "locations": [place(p) for p in places],
        },
        key=f"line/{slug}",
    )["id"]
    activated = ghost.post(f"/v1/lines/{line}/activate", key=f"activate/{slug}")
    assert activated["invoice_id"] is None  # billed on the partner's unified invoice
    return client, line


def invoices(api: Api, partner: UUID) -> list[Json]:
    """The partner's invoices, whole, in the order they were numbered (R-O5)."""
    listed = oldest_first(api.pages(f"/v1/partners/{partner}/invoices"))
    return [api.get(f"/v1/invoices/{found['id']}") for found in listed]


def period(invoice: Json) -> tuple[str | None, str | None]:
    return products(invoice)[0][2]


def test_r_o1_r_x4_card_and_ach_are_kept_as_tokens_and_the_ach_debit_pays_without_a_fee(
    runtime: Runtime, clock: SimulatedClock, client_for: ClientFor, make_key: MakeKey
) -> None:
    story = Story(runtime, clock, client_for, make_key)
    partner, ghost = open_partner(story, autopay="direct_debit")
    methods = f"/v1/partners/{partner}/payment-methods"
    ach = ghost.post(methods, {"method": ACH, "make_default": True}, key="ach")
    assert ach["method"] == {
        "method_id": ach["id"],
        "kind": "ach",
        "brand": None,
        "last4": "6789",
        "expiry_month": None,
        "expiry_year": None,
        "routing_number": "110000000",
    }
    bad = {"method": card("4242424242424241", 12, 2030, "123")}
    assert ghost.refused(methods, bad, key="bad-card", status=422)["code"] == "card_invalid"

    kept = {item["kind"]: item for item in ghost.get(methods)["items"]}
    assert set(kept) == {"card", "ach"}
    shown_card = kept["card"]
    assert (shown_card["brand"], shown_card["last4"], shown_card["is_default"]) == (
        "visa",
        "4242",
        False,
    )
    assert (shown_card["expiry_month"], shown_card["expiry_year"]) == (12, 2030)
    assert (kept["ach"]["method_id"], kept["ach"]["is_default"]) == (ach["id"], True)

    # The ACH debit goes out on Saturday Jan 31 and settles two business days later, Feb 3.
    unified_client(ghost, partner, "Taqueria Sol", "Downtown")
    story.tick(clock.now())
    [invoice] = invoices(ghost, partner)
    assert (invoice["number"], invoice["status"]) == ("INV-2026-000001", "open")
    assert minor(invoice["pending"]) == SEAT
    assert [minor(debit["amount"]) for debit in invoice["pending_debits"]] == [SEAT]
    story.tick(at(2026, 2, 3))
    invoice = ghost.get(f"/v1/invoices/{invoice['id']}")
    assert (invoice["status"], invoice["pending_debits"]) == ("settled", [])
    assert card_fees(invoice) == []  # R-O7: only a card carries the fee
    assert payments(invoice) == [("direct_debit", SEAT, 0)]
    assert minor(ghost.get(f"/v1/partners/{partner}/balance")["receivable"]) == 0
    assert story.trial_balance("USD").get("receivable", 0) == 0
    story.never_shown("4242424242424242", "4242424242424241", "000123456789", '"123"')


def test_r_o2_r_o3_r_o5_r_o7_an_anniversary_on_the_31st_bills_one_itemised_invoice_a_month(
    runtime: Runtime, clock: SimulatedClock, client_for: ClientFor, make_key: MakeKey
) -> None:
    story = Story(runtime, clock, client_for, make_key)
    partner, ghost = open_partner(story)
    _, taqueria = unified_client(ghost, partner, "Taqueria Sol", "Downtown", "Harbor")
    _, pho = unified_client(ghost, partner, "Pho Lan", "Midtown")
    line = ghost.get(f"/v1/lines/{taqueria}")
    assert (line["anchor"], line["unified_billing"], line["payer"]) == (
        "anniversary",
        True,
        "partner",
    )

    story.tick(at(2026, 3, 31))

    billed = invoices(ghost, partner)
    assert [(i["number"], i["issued_on"]) for i in billed] == [
        ("INV-2026-000001", "2026-01-31"),
        ("INV-2026-000002", "2026-02-28"),  # clamped to February's last day (R-O2)
        ("INV-2026-000003", "2026-03-31"),  # and back on the 31st
    ]
    periods = (JAN_31_TO_FEB_28, FEB_28_TO_MAR_31, MAR_31_TO_APR_30)
    for invoice, billed_period in zip(billed, periods, strict=True):
        # R-O3: one invoice, one line per active location, naming the location.
        assert products(invoice) == [
            ("POS integration, location: Downtown", SEAT, billed_period),
            ("POS integration, location: Harbor", SEAT, billed_period),
            ("POS integration, location: Midtown", SEAT, billed_period),
        ]
        named = {item["location_name"] for item in invoice["lines"] if item["location_id"]}
        assert named == {"Downtown", "Harbor", "Midtown"}
        assert {item["line_id"] for item in invoice["lines"] if item["line_id"]} == {taqueria, pho}
        assert (invoice["payer"], invoice["payer_id"], invoice["client_id"]) == (
            "partner",
            str(partner),
            None,
        )
        # R-O7: 3 % of $147.00 is $4.41, its own line, charged with the rest.
        assert card_fees(invoice) == [(FEE, 441)]
        assert (minor(invoice["total"]), invoice["status"]) == (15141, "settled")
        assert payments(invoice) == [("card", 15141, 441)]
    for line_id in (taqueria, pho):  # both renew next on April 30th
        assert ghost.get(f"/v1/lines/{line_id}")["current_period"] == {
            "start": "2026-03-31",
            "end": "2026-04-30",
        }
    assert story.tick(clock.now()).total == 0
    assert len(ghost.pages(f"/v1/partners/{partner}/invoices")) == 3

    # R-O5: months later the partner fetches every past invoice again, a page at a time.
    story.tick(at(2026, 9, 1))  # April to August
    pages = ghost.get(f"/v1/partners/{partner}/invoices", limit=3)
    assert [found["number"] for found in pages["items"]] == [
        "INV-2026-000008",
        "INV-2026-000007",
        "INV-2026-000006",
    ]
    every = ghost.pages(f"/v1/partners/{partner}/invoices", limit=3)
    assert [found["number"] for found in oldest_first(every)] == [
        f"INV-2026-00000{n}" for n in range(1, 9)
    ]
    assert {(minor(found["total"]), found["status"]) for found in every} == {(15141, "settled")}
    pdf = ghost.client.get(f"/v1/invoices/{billed[0]['id']}/pdf")
    assert (pdf.status_code, pdf.headers["content-type"]) == (200, "application/pdf")
    assert pdf.content.startswith(b"%PDF-")
    assert story.trial_balance("USD").get("receivable", 0) == 0


def test_r_o2_r_o3_a_line_started_mid_month_is_prorated_onto_the_partners_billing_day(
    runtime: Runtime, clock: SimulatedClock, client_for: ClientFor, make_key: MakeKey
) -> None:
    story = Story(runtime, clock, client_for, make_key)
    partner, ghost = open_partner(story)
    _, taqueria = unified_client(ghost, partner, "Taqueria Sol", "Downtown")
    story.tick(clock.now())

    clock.set(at(2026, 2, 10))
    unified_client(ghost, partner, "Pho Lan", "Midtown")
    clock.set(at(2026, 2, 15))
    added = ghost.post(f"/v1/lines/{taqueria}/locations", place("Harbor"), key="harbor")
    assert added["locations"] == 2  # billed from the next invoice
    story.tick(at(2026, 2, 28))

    first, second = invoices(ghost, partner)
    assert (first["issued_on"], minor(first["total"])) == ("2026-01-31", SEAT + SEAT_FEE)
    # Feb 10 to Feb 28 is 18 of the 28 days from Jan 31: $49.00 x 18/28 = $31.50.
    assert products(second) == [
        ("POS integration, location: Downtown", SEAT, FEB_28_TO_MAR_31),
        ("POS integration, location: Harbor", SEAT, FEB_28_TO_MAR_31),
        ("POS integration, location: Midtown", 3150, ("2026-02-10", "2026-02-28")),
        ("POS integration, location: Midtown", SEAT, FEB_28_TO_MAR_31),
    ]
    assert card_fees(second) == [(FEE, 536)]  # 3 % of $178.50 is $5.355: half up, $5.36
    assert (second["number"], second["issued_on"]) == ("INV-2026-000002", "2026-02-28")
    assert (minor(second["total"]), second["status"]) == (18386, "settled")
    assert story.trial_balance("USD").get("receivable", 0) == 0


def test_r_o2_r_o7_in_2028_the_31st_clamps_to_february_29th_and_a_calendar_partner_bills_the_1st(
    runtime: Runtime, clock: SimulatedClock, client_for: ClientFor, make_key: MakeKey
) -> None:
    """Two partners from 31 January 2028: Ghost Kitchens on its anniversary, paying by card;
    Casa Verde on the 1st of each month (calendar), paying by bank transfer."""
    story = Story(runtime, clock, client_for, make_key)
    clock.set(at(2028, 1, 31))
    ghost_id, ghost = open_partner(story)
    _, ghost_line = unified_client(ghost, ghost_id, "Taqueria Sol", "Downtown")
    casa_id, casa = story.open_partner("cv", "Casa Verde", "USD", NEW_YORK, anchor="calendar")
    _, casa_line = unified_client(casa, casa_id, "Casa Verde Deli", "Downtown", "Harbor")
    jan_31 = {"start": "2028-01-31", "end": "2028-02-01"}
    assert casa.get(f"/v1/lines/{casa_line}")["current_period"] == jan_31

    story.tick(at(2028, 3, 31))

    # The work is done in the order it fell due, and invoice numbers follow it (R-X3).
    billed = invoices(ghost, ghost_id)
    assert [
        (i["number"], i["issued_on"], period(i), minor(i["total"]), i["status"]) for i in billed
    ] == [
        ("INV-2028-000001", "2028-01-31", ("2028-01-31", "2028-02-29"), 5047, "settled"),
        ("INV-2028-000003", "2028-02-29", ("2028-02-29", "2028-03-31"), 5047, "settled"),
        ("INV-2028-000005", "2028-03-31", ("2028-03-31", "2028-04-30"), 5047, "settled"),
    ]
    assert ghost.get(f"/v1/lines/{ghost_line}")["current_period"] == {
        "start": "2028-03-31",
        "end": "2028-04-30",
    }
    first, second = invoices(casa, casa_id)
    # Jan 31 alone is 1/31 of a month: $49.00 / 31 = $1.58 per location; then February whole.
    february = ("2028-02-01", "2028-03-01")
    assert products(first) == [
        ("POS integration, location: Downtown", 158, ("2028-01-31", "2028-02-01")),
        ("POS integration, location: Downtown", SEAT, february),
        ("POS integration, location: Harbor", 158, ("2028-01-31", "2028-02-01")),
        ("POS integration, location: Harbor", SEAT, february),
    ]
    assert (first["number"], first["issued_on"], first["due_on"]) == (
        "INV-2028-000002",
        "2028-02-01",
        "2028-02-15",  # net 14
    )
    assert (second["number"], second["issued_on"], minor(second["total"])) == (
        "INV-2028-000004",
        "2028-03-01",
        2 * SEAT,
    )
    paid = pay_offline(
        casa, first["id"], {"source": "bank_transfer", "reference": "WIRE 0001"}, key="wire"
    )
    assert paid["status"] == "settled"
    first = casa.get(f"/v1/invoices/{first['id']}")
    assert (first["status"], minor(first["total"]), card_fees(first)) == ("settled", 10116, [])
    assert minor(casa.get(f"/v1/partners/{casa_id}/balance")["receivable"]) == 2 * SEAT
    assert story.trial_balance("USD")["receivable"] == 2 * SEAT


def test_r_o4_a_client_removed_from_unified_billing_is_billed_itself_and_stays_out(
    runtime: Runtime, clock: SimulatedClock, client_for: ClientFor, make_key: MakeKey
) -> None:
    story = Story(runtime, clock, client_for, make_key)
    partner, ghost = open_partner(story)
    unified_client(ghost, partner, "Taqueria Sol", "Downtown", "Harbor")
    pho, pho_line = unified_client(ghost, partner, "Pho Lan", "Midtown", email="own@pho.example")
    story.tick(clock.now())
    assert minor(invoices(ghost, partner)[0]["total"]) == 15141

    clock.set(at(2026, 2, 10))
    removal = f"/v1/clients/{pho}/remove-from-unified-billing"
    assert ghost.post(removal, key="remove/pho")["id"] == pho
    again = ghost.refused(removal, key="remove/pho/again", status=409)
    assert again["code"] == "client_not_in_unified_billing"
    assert ghost.get(f"/v1/clients/{pho}")["unified_billing"] is False
    line = ghost.get(f"/v1/lines/{pho_line}")
    assert (line["unified_billing"], line["payer"]) == (False, "client")

    story.tick(at(2026, 2, 28))

    _, own, unified = invoices(ghost, partner)
    # The client's renewal is issued first: renewals come before the unified run.
    assert (own["number"], own["payer"]) == ("INV-2026-000002", "client")
    assert (own["payer_id"], own["client_id"]) == (pho, pho)
    assert products(own) == [("POS integration, location: Midtown", SEAT, FEB_28_TO_MAR_31)]
    assert (own["status"], own["expected_source"]) == ("open", "bank_transfer")
    assert own["due_on"] == "2026-03-14"
    assert unified["number"] == "INV-2026-000003"
    assert products(unified) == [
        ("POS integration, location: Downtown", SEAT, FEB_28_TO_MAR_31),
        ("POS integration, location: Harbor", SEAT, FEB_28_TO_MAR_31),
    ]
    assert (minor(unified["total"]), unified["status"]) == (10094, "settled")
    owed = [found for found in invoices(ghost, partner) if found["status"] == "open"]
    assert [found["payer_id"] for found in owed] == [pho]
    assert [found["id"] for found in ghost.pages(f"/v1/clients/{pho}/invoices")] == [own["id"]]
    assert minor(ghost.get(f"/v1/partners/{partner}/balance")["receivable"]) == 0
    assert story.trial_balance("USD")["receivable"] == SEAT  # the client's own, not the partner's

    # A new line for the removed client cannot put it back on the partner's invoice.
    uptown = {
        "partner_id": str(partner),
        "client_id": pho,
        "product_code": "pos-location",
        "unified_billing": True,
        "locations": [place("Uptown")],
    }
    refused = ghost.refused("/v1/lines", uptown, key="line/uptown", status=409)
    assert refused["code"] == "client_not_in_unified_billing"

    # A client whose first line was cancelled can still be removed; its other line follows it.
    banh_mi, old_line = unified_client(ghost, partner, "Banh Mi Co", "Midtown East")
    new_line = ghost.post(
        "/v1/lines",
        {**uptown, "client_id": banh_mi, "locations": [place("Uptown East")]},
        key="banh-mi/l2",
    )["id"]
    ghost.post(f"/v1/lines/{new_line}/activate", key="banh-mi/activate/l2")
    ghost.post(f"/v1/lines/{old_line}/cancel", {"reason": "Midtown closed"}, key="cancel/old")
    ghost.post(f"/v1/clients/{banh_mi}/remove-from-unified-billing", key="remove/banh-mi")
    assert ghost.get(f"/v1/clients/{banh_mi}")["unified_billing"] is False
    assert ghost.get(f"/v1/lines/{new_line}")["payer"] == "client"


def test_r_o6_the_partner_replaces_its_card_what_failed_is_charged_and_the_day_stays(
    runtime: Runtime, clock: SimulatedClock, client_for: ClientFor, make_key: MakeKey
) -> None:
    story = Story(runtime, clock, client_for, make_key)
    partner, ghost = open_partner(story, method=EXPIRED_AT_BANK)
    methods = f"/v1/partners/{partner}/payment-methods"
    [old] = ghost.get(methods)["items"]
    unified_client(ghost, partner, "Taqueria Sol", "Downtown")
    story.tick(clock.now())
    [first] = invoices(ghost, partner)
    assert (first["status"], first["failed"], first["last_decline_code"]) == (
        "open",
        True,
        "expired_card",
    )
    assert len(first["failed_attempts"]) == 1
    grace = ghost.get(f"/v1/partners/{partner}/banner")
    assert grace["status"] == "in_grace"
    assert [i["number"] for line in grace["banner"]["lines"] for i in line["invoices"]] == [
        "INV-2026-000001"
    ]

    clock.set(at(2026, 2, 3))
    replaced = ghost.post(
        f"{methods}/{old['method_id']}/replace",
        {"method": MASTERCARD, "outstanding": "charge_all"},
        key="new-card",
    )
    assert (replaced["method"]["brand"], replaced["method"]["last4"]) == ("mastercard", "4444")

    first = ghost.get(f"/v1/invoices/{first['id']}")  # read right after the replacement
    assert (first["status"], payments(first)) == ("settled", [("card", 5047, 147)])
    assert first["position"] <= replaced["position"]  # the answer covers the charge it made
    after = ghost.get(f"/v1/partners/{partner}/banner")
    assert (after["status"], after["banner"]) == ("active", None)
    [kept] = ghost.get(methods)["items"]
    assert (kept["brand"], kept["last4"], kept["is_default"]) == ("mastercard", "4444", True)
    assert kept["method_id"] == replaced["id"]

    story.tick(at(2026, 2, 28))
    _, second = invoices(ghost, partner)
    # The billing day did not move, and the new card paid.
    assert (second["number"], second["issued_on"]) == ("INV-2026-000002", "2026-02-28")
    assert (second["status"], payments(second)) == ("settled", [("card", 5047, 147)])
    assert story.trial_balance("USD").get("receivable", 0) == 0
    story.never_shown("5555555555554444", "4000000000000069")
