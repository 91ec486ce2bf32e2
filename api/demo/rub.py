"""The demo's RUB clock: an integrator in Moscow selling messaging lines (ChatApp, R-C*),
from Monday 5 January to 20 April 2026: a top-up by bank transfer, lines paid from the company
balance with balance autopay, a twelve-month line with its duration discount paid by the
client's own card (cashback for the partner), bonuses spent on another client's line, and a
closing document; and two renewals left unpaid."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from api.demo.driver import Driver, Json, money, utc

START = utc(2026, 1, 5, 9)
"""Monday 5 January 2026, 12:00 in Moscow."""
MONTHS = (utc(2026, 2, 10, 9), utc(2026, 3, 10, 9), utc(2026, 4, 20, 9))
MOSCOW = "Europe/Moscow"
CARD = {
    "number": "4242424242424242",
    "expiry_month": 12,
    "expiry_year": 2030,
    "holder": "Elena Smirnova",
    "cvv": "123",
    "postal_code": "125009",
}


@dataclass(frozen=True)
class RubPartners:
    clock: UUID
    integrator: UUID


def rub(amount_minor: int) -> Json:
    return money(amount_minor, "RUB")


async def load(api: Driver) -> RubPartners:
    """The RUB clock's four months."""
    made = await api.post(
        "/v1/test-clocks", {"name": "Demo: RUB", "frozen_time": START.isoformat()}, key="clock/rub"
    )
    clock = UUID(made["id"])
    body = {"name": "Интегратор Плюс", "currency": "RUB", "time_zone": MOSCOW}
    opened = await api.post("/v1/partners", {**body, "test_clock": str(clock)}, key="plus/open")
    partner = UUID(opened["id"])
    here = f"/v1/partners/{partner}"
    profile = {
        "entity": "Интегратор Плюс",
        "address": {
            "lines": ["ул. Тверская, д. 1"],
            "city": "Москва",
            "postal_code": "125009",
            "country": "RU",
        },
        "billing_email": "buh@plus.example",
    }
    await api.post(f"{here}/billing-profile", profile, key="plus/profile")

    # R-C2: a bank transfer for the company balance, announced, then confirmed by the vendor.
    announced = await api.post(
        f"{here}/top-up-announcements",
        {"amount": rub(1000000), "reference": "ПП № 17"},
        key="plus/top-up/announce",
    )
    await api.post(
        f"{here}/top-up-announcements/{announced['top_up_id']}/confirm", key="plus/top-up/confirm"
    )

    clients = {}
    for slug, name in (
        ("cafe", "Кофейня Зерно"),
        ("lotus", "Салон Лотос"),
        ("garage", "Автосервис Гараж"),
    ):
        registered = {"name": name, "unified_billing": False, "email": f"{slug}@client.example"}
        clients[slug] = (await api.post(f"{here}/clients", registered, key=f"plus/{slug}"))["id"]

    async def buy(slug: str, key: str, **more: object) -> tuple[str, Json]:
        wanted = {
            "partner_id": str(partner),
            "client_id": clients[slug],
            "product_code": "messaging-line",
            **more,
        }
        line: str = (await api.post("/v1/lines", wanted, key=f"plus/{key}/line"))["id"]
        if more.get("payer") == "client":
            await api.post(f"/v1/lines/{line}/card", {"card": CARD}, key=f"plus/{key}/card")
        return line, await api.post(f"/v1/lines/{line}/activate", key=f"plus/{key}/activate")

    # The café's line, paid from the company balance, then renewed by balance autopay (R-C6);
    # a closing document for it (R-C7).
    cafe, first = await buy("cafe", "cafe")
    paid = {"source": "company_balance"}
    await api.post(f"/v1/invoices/{first['invoice_id']}/payments", paid, key="plus/cafe/pay")
    await api.post(f"/v1/lines/{cafe}/autopay", paid, key="plus/cafe/autopay")
    await api.post(f"/v1/invoices/{first['invoice_id']}/closing-documents", key="plus/cafe/act")

    # R-C3, R-C4: the salon buys twelve months at once (10 % off) and pays by its own card;
    # the integrator earns cashback on it.
    await buy("lotus", "lotus", term="twelve_months", payer="client")

    # R-C5: the bonuses are the integrator's, spent on the garage's line. That line has no
    # autopay: its March and April renewals wait for a bank transfer that has not come, so
    # the integrator owes them (its banner), and past March's due date and a week of grace
    # its account is paused (R-H2, R-L4).
    await api.advance(clock, MONTHS[0])
    _, garage = await buy("garage", "garage")
    bonus = {"source": "bonus"}
    await api.post(f"/v1/invoices/{garage['invoice_id']}/payments", bonus, key="plus/garage/pay")
    for instant in MONTHS[1:]:
        await api.advance(clock, instant)
    return RubPartners(clock, partner)
