"""The demo's USD clock: a restaurant-tech reseller on unified billing (Otter, R-O*), a
plumber's service plans paid by its customers (Housecall Pro, R-H*), and two roofers paying per
lead (CraftJack, R-L*), from Monday 5 January to 20 April 2026."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from api.demo.driver import Driver, Json, minutes_before, money, named_id, utc

START = utc(2026, 1, 5, 17)
"""Monday 5 January 2026, 12:00 in New York, 09:00 in Los Angeles."""
END = utc(2026, 4, 20, 17)
NEW_YORK = "America/New_York"
LOS_ANGELES = "America/Los_Angeles"
DENVER = "America/Denver"


def card(number: str, holder: str, postal_code: str, month: int = 12, year: int = 2030) -> Json:
    return {
        "number": number,
        "expiry_month": month,
        "expiry_year": year,
        "holder": holder,
        "cvv": "123",
        "postal_code": postal_code,
    }


VISA = "4242424242424242"
MASTERCARD = "5555555555554444"
DECLINING = "4000000000000002"
"""The simulator declines this card (`card_declined`)."""


CUSTOMERS = {
    "dana": ("Dana Whitfield", "dana@whitfield.example"),
    "ben": ("Ben Okafor", "ben@okafor.example"),
    "carla": ("Carla Reyes", "carla@reyes.example"),
}
"""Sparkle Plumbing's customers, who pay for their own plans."""


@dataclass(frozen=True)
class UsdPartners:
    """Who the USD clock holds."""

    clock: UUID
    ghost_kitchens: UUID
    sparkle: UUID
    rivera: UUID
    summit: UUID


def profile(entity: str, street: str, city: str, postal_code: str, email: str) -> Json:
    return {
        "entity": entity,
        "address": {"lines": [street], "city": city, "postal_code": postal_code, "country": "US"},
        "billing_email": email,
    }


async def open_partner(api: Driver, clock: UUID, key: str, name: str, zone: str) -> UUID:
    body = {"name": name, "currency": "USD", "time_zone": zone, "test_clock": str(clock)}
    return UUID((await api.post("/v1/partners", body, key=f"{key}/open"))["id"])


async def client(api: Driver, partner: UUID, key: str, name: str, **more: object) -> str:
    body = {"name": name, "unified_billing": False, **more}
    found: str = (await api.post(f"/v1/partners/{partner}/clients", body, key=key))["id"]
    return found


async def line(api: Driver, partner: UUID, client_id: str, key: str, **more: object) -> str:
    body = {"partner_id": str(partner), "client_id": client_id, **more}
    found: str = (await api.post("/v1/lines", body, key=key))["id"]
    return found


def place(name: str) -> Json:
    return {"location_id": str(named_id(f"location/{name}")), "name": name}


async def ghost_kitchens(api: Driver, clock: UUID) -> tuple[UUID, dict[str, Json]]:
    """R-O1 … R-O7: billing profile, a card with autopay, clients in unified billing, one POS
    line over each client's locations; a top-up by card."""
    partner = await open_partner(api, clock, "ghost", "Ghost Kitchens Inc", NEW_YORK)
    api_path = f"/v1/partners/{partner}"
    await api.post(
        f"{api_path}/billing-profile",
        profile("Ghost Kitchens Inc", "350 Fifth Avenue", "New York", "10118", "ap@ghost.example"),
        key="ghost/profile",
    )
    method = {"kind": "card", **card(VISA, "Maria Lopez", "10118")}
    await api.post(
        f"{api_path}/payment-methods", {"method": method, "make_default": True}, key="ghost/card"
    )
    await api.post(f"{api_path}/autopay", {"source": "card"}, key="ghost/autopay")
    lines: dict[str, Json] = {}
    for slug, name, places in (
        ("taqueria", "Taqueria Sol", ("Taqueria Sol Downtown", "Taqueria Sol Harbor")),
        ("pho", "Pho Lan", ("Pho Lan Midtown",)),
    ):
        client_id = await client(api, partner, f"ghost/client/{slug}", name, unified_billing=True)
        pos = await line(
            api,
            partner,
            client_id,
            f"ghost/line/{slug}",
            product_code="pos-location",
            unified_billing=True,
            locations=[place(p) for p in places],
        )
        await api.post(f"/v1/lines/{pos}/activate", key=f"ghost/activate/{slug}")
        lines[slug] = {"line": pos, "client": client_id}
    top_up = {"amount": money(50000, "USD"), "source": "card"}
    await api.post(f"{api_path}/top-ups", top_up, key="ghost/top-up")
    return partner, lines


@dataclass(frozen=True)
class Plans:
    """Sparkle Plumbing's service plans, paid by its customers themselves."""

    partner: UUID
    paid: str
    """Dana's monthly plan, on a good card: earns Sparkle cashback; later refunded in part."""
    paid_first_invoice: str
    charge_all: str
    """Ben's plan, whose card is declined; his new card takes everything pending (R-H5)."""
    mark_paid: str
    """Carla's plan, declined too; Sparkle marks what is pending paid (R-H5)."""
    overdue: str
    """Dana's annual plan, to be paid by cheque: none came by its due date (R-H2)."""


async def sparkle(api: Driver, clock: UUID) -> Plans:
    """R-H1, R-H2, R-H4: plans with cards (one good, two declined) and one paid by cheque."""
    partner = await open_partner(api, clock, "sparkle", "Sparkle Plumbing", LOS_ANGELES)
    await api.post(
        f"/v1/partners/{partner}/billing-profile",
        profile(
            "Sparkle Plumbing LLC", "100 Main St", "Los Angeles", "90012", "office@sparkle.example"
        ),
        key="sparkle/profile",
    )
    customers = {}
    for slug, (name, email) in CUSTOMERS.items():
        key = f"sparkle/client/{slug}"
        customers[slug] = await client(api, partner, key, name, email=email)
    plans: list[str] = []
    first_invoice = ""
    for slug, customer, number, term in (
        ("dana", "dana", VISA, "monthly"),
        ("ben", "ben", DECLINING, "monthly"),
        ("carla", "carla", DECLINING, "monthly"),
        ("dana-annual", "dana", None, "annual"),  # no card: Dana pays by cheque
    ):
        key = f"sparkle/plan/{slug}"
        plan_id = await line(
            api,
            partner,
            customers[customer],
            f"{key}/line",
            product_code="service-plan",
            payer="client",
            term=term,
        )
        if number is not None:
            given = {"card": card(number, CUSTOMERS[customer][0], "90012")}
            await api.post(f"/v1/lines/{plan_id}/card", given, key=f"{key}/card")
        await api.post(f"/v1/lines/{plan_id}/send", key=f"{key}/send")
        await api.post(f"/v1/lines/{plan_id}/accept", key=f"{key}/accept")
        activated = await api.post(f"/v1/lines/{plan_id}/activate", key=f"{key}/activate")
        plans.append(plan_id)
        first_invoice = first_invoice or activated["invoice_id"]
    paid, charge_all, mark_paid, overdue = plans
    return Plans(partner, paid, first_invoice, charge_all, mark_paid, overdue)


async def roofer(
    api: Driver, clock: UUID, key: str, name: str, zone: str, number: str
) -> tuple[UUID, str]:
    """R-L1: a pay-per-lead account, its card with card autopay, one lead line."""
    partner = await open_partner(api, clock, key, name, zone)
    method = {"kind": "card", **card(number, name, "80202")}
    await api.post(
        f"/v1/partners/{partner}/payment-methods",
        {"method": method, "make_default": True},
        key=f"{key}/card",
    )
    await api.post(f"/v1/partners/{partner}/autopay", {"source": "card"}, key=f"{key}/autopay")
    itself = await client(api, partner, f"{key}/self", name)
    leads = await line(api, partner, itself, f"{key}/line", product_code="lead", payer="partner")
    await api.post(f"/v1/lines/{leads}/activate", key=f"{key}/activate")
    return partner, leads


async def deliver(api: Driver, lead_line: str, key: str, at: datetime, count: int) -> Json:
    """`count` leads delivered in the minutes before `at` (R-L1); the last one's answer."""
    answer: Json = {}
    for index in range(count):
        number = f"{key}/lead/{at.date()}/{index + 1}"
        body = {
            "lead_id": str(named_id(number)),
            "delivered_at": minutes_before(at, 10 * (count - index)).isoformat(),
        }
        answer = await api.post(f"/v1/lines/{lead_line}/leads", body, key=number)
    return answer


async def load(api: Driver) -> UsdPartners:
    """The USD clock's four months."""
    made = await api.post(
        "/v1/test-clocks", {"name": "Demo: USD", "frozen_time": START.isoformat()}, key="clock/usd"
    )
    clock = UUID(made["id"])
    ghost, ghost_lines = await ghost_kitchens(api, clock)
    plans = await sparkle(api, clock)
    rivera, rivera_leads = await roofer(
        api, clock, "rivera", "Rivera Roofing", LOS_ANGELES, DECLINING
    )
    summit, summit_leads = await roofer(api, clock, "summit", "Summit Gutters", DENVER, VISA)
    await api.post(
        f"/v1/partners/{summit}/budget", {"amount": money(10500, "USD")}, key="summit/budget"
    )

    # Thursday 8 January: Ben and Carla give new cards, each choosing what happens to what
    # their declined cards left pending (R-H5).
    await api.advance(clock, utc(2026, 1, 8, 18))
    for slug, plan_id, choice, number in (
        ("ben", plans.charge_all, "charge_all", MASTERCARD),
        ("carla", plans.mark_paid, "mark_paid", VISA),
    ):
        update = {"card": card(number, CUSTOMERS[slug][0], "90012"), "outstanding": choice}
        await api.post(f"/v1/lines/{plan_id}/card", update, key=f"sparkle/plan/{slug}/new-card")

    # Monday 12 January: a visit was missed; Sparkle refunds Dana 15.00 of her card payment.
    await api.advance(clock, utc(2026, 1, 12, 18))
    await refund_in_part(api, plans.paid_first_invoice)

    # Tuesday 13 January: six leads for Rivera reach 200.00 and are invoiced at once (R-L2);
    # its card declines, and a week of grace begins (R-L4). Summit gets two.
    await api.advance(clock, utc(2026, 1, 13, 18))
    threshold = await deliver(api, rivera_leads, "rivera", utc(2026, 1, 13, 18), 6)
    await deliver(api, summit_leads, "summit", utc(2026, 1, 13, 18), 2)

    # Wednesday 21 January: the grace week is over, Rivera is paused; it pays by wire, puts a
    # good card on file, and resumes by itself (R-L4).
    await api.advance(clock, utc(2026, 1, 21, 18))
    await api.pay_offline(
        threshold["invoice_id"], "bank_transfer", "WIRE 2026-0121", key="rivera/wire"
    )
    good = {"kind": "card", **card(VISA, "Rivera Roofing", "90012")}
    await api.post(
        f"/v1/partners/{rivera}/payment-methods",
        {"method": good, "make_default": True},
        key="rivera/new-card",
    )

    # February: renewals; Taqueria Sol opens a third location; three more leads for Rivera.
    await api.advance(clock, utc(2026, 2, 10, 18))
    await api.post(
        f"/v1/lines/{ghost_lines['taqueria']['line']}/locations",
        place("Taqueria Sol Airport"),
        key="ghost/airport",
    )
    await deliver(api, rivera_leads, "rivera", utc(2026, 2, 10, 18), 3)

    # March: Pho Lan leaves Ghost Kitchens' unified billing (R-O4).
    await api.advance(clock, utc(2026, 3, 10, 18))
    pho = ghost_lines["pho"]["client"]
    await api.post(f"/v1/clients/{pho}/remove-from-unified-billing", key="ghost/pho/leave")

    # April: Summit's budget starts again on the 5th; three leads spend it and the account
    # pauses itself until 5 May (R-L3).
    await api.advance(clock, utc(2026, 4, 7, 18))
    await deliver(api, summit_leads, "summit", utc(2026, 4, 7, 18), 3)
    await api.advance(clock, END)
    return UsdPartners(clock, ghost, plans.partner, rivera, summit)


async def refund_in_part(api: Driver, invoice_id: str) -> None:
    """R-H6: 15.00 of the plan's first card payment goes back, with a receipt."""
    invoice = await api.get(f"/v1/invoices/{invoice_id}")
    payment = invoice["payments"][0]["payment_id"]
    body = {"payment_id": payment, "amount": money(1500, "USD"), "reason": "Visit missed"}
    await api.post(f"/v1/invoices/{invoice_id}/refunds", body, key="sparkle/refund/visit")
