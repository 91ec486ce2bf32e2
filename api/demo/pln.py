"""The demo's PLN clock: two resellers in Warsaw selling e-mail signatures (Exclaimer, R-E*);
Kowalski's subscription moves from Northwind IT to Baltic Partners in January, and Baltic
bills it from then on, from Monday 5 January to 20 April 2026."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from api.demo.driver import Driver, utc

START = utc(2026, 1, 5, 9)
"""Monday 5 January 2026, 10:00 in Warsaw."""
ASKED = utc(2026, 1, 7, 9)
"""Wednesday 7 January: Northwind asks for the transfer, with the client's consent."""
MONTHS = (utc(2026, 2, 10, 9), utc(2026, 3, 10, 9), utc(2026, 4, 20, 9))
WARSAW = "Europe/Warsaw"
END_USER = "Kowalski i Synowie Sp. z o.o."


@dataclass(frozen=True)
class PlnPartners:
    clock: UUID
    northwind: UUID
    baltic: UUID
    line: str


async def load(api: Driver) -> PlnPartners:
    """The PLN clock's four months."""
    made = await api.post(
        "/v1/test-clocks", {"name": "Demo: PLN", "frozen_time": START.isoformat()}, key="clock/pln"
    )
    clock = UUID(made["id"])
    resellers = []
    for slug, name, city, street, postal_code in (
        ("northwind", "Northwind IT", "Warszawa", "ul. Marszałkowska 10", "00-590"),
        ("baltic", "Baltic Partners", "Gdańsk", "ul. Długa 1", "80-827"),
    ):
        body = {"name": name, "currency": "PLN", "time_zone": WARSAW, "test_clock": str(clock)}
        partner = UUID((await api.post("/v1/partners", body, key=f"{slug}/open"))["id"])
        profile = {
            "entity": f"{name} Sp. z o.o.",
            "address": {
                "lines": [street],
                "city": city,
                "postal_code": postal_code,
                "country": "PL",
            },
            "billing_email": f"billing@{slug}.example",
        }
        await api.post(f"/v1/partners/{partner}/billing-profile", profile, key=f"{slug}/profile")
        resellers.append(partner)
    northwind, baltic = resellers
    client = await api.post(
        f"/v1/partners/{northwind}/clients",
        {"name": END_USER, "email": "faktury@kowalski.example", "unified_billing": False},
        key="northwind/kowalski",
    )
    wanted = {
        "partner_id": str(northwind),
        "client_id": client["id"],
        "product_code": "email-signatures",
    }
    line = (await api.post("/v1/lines", wanted, key="northwind/kowalski/line"))["id"]
    activated = await api.post(f"/v1/lines/{line}/activate", key="northwind/kowalski/activate")
    # R-E3: every invoice of the line is settled before it moves.
    await api.pay_offline(
        activated["invoice_id"], "bank_transfer", "przelew 0001", key="northwind/kowalski/pay"
    )

    # R-E2, R-E4: the request with every field, the client's and Northwind's consents; Baltic
    # consents the same day; the move takes effect on the preferred Monday.
    await api.advance(clock, ASKED)
    request = {
        "end_user_name": END_USER,
        "current_reseller_id": str(northwind),
        "new_reseller_id": str(baltic),
        "preferred_date": "2026-01-12",
        "owner_email": "admin@kowalski.example",
        "invoice_email": "faktury@kowalski.example",
        "billing": "annual",
        "payment_method": "bank_transfer",
        "consents": ["client", "current_reseller"],
    }
    await api.post(f"/v1/lines/{line}/transfers", request, key="kowalski/transfer")
    await api.post(
        f"/v1/lines/{line}/transfers/consents", {"party": "new_reseller"}, key="kowalski/baltic"
    )
    # The move takes effect on the preferred Monday, 12 January (R-E4); Baltic bills the year
    # from the line's next period, 5 February, and pays it by wire.
    await api.advance(clock, MONTHS[0])
    for found in (await api.get(f"/v1/lines/{line}"))["open_invoices"]:
        await api.pay_offline(
            found["invoice_id"],
            "bank_transfer",
            "przelew B-0210",
            key=f"baltic/kowalski/pay/{found['number']}",
        )
    for instant in MONTHS[1:]:
        await api.advance(clock, instant)
    return PlnPartners(clock, northwind, baltic, line)
