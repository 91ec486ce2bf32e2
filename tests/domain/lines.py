"""Subscription lines and transfer requests to test with (R-H1, R-O2, R-E2)."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID, uuid4

from domain.calendar import Anchor, BillingPeriod, Term
from domain.money import Money
from domain.payment_methods import CardBrand, CardToken, PaymentSource
from domain.pricing import BillingPolicy, PriceUnit, Product
from domain.subscription_line import SubscriptionLine, TransferParty, TransferRequest
from domain.values import Location, Payer
from tests.support import START

NOW = START
PARTNER, NEW_PARTNER, OTHER_PARTNER, CLIENT = (UUID(int=n) for n in (1, 2, 3, 4))
PLAN = Product("plan", "Plan", PriceUnit.PER_LINE, Money(5_000, "USD"))
SEATS = Product("seat", "POS seat", PriceUnit.PER_LOCATION, Money(3_000, "USD"))
LEADS = Product("lead", "Leads", PriceUnit.PER_LEAD, Money(2_500, "USD"))
PRODUCTS = {PriceUnit.PER_LINE: PLAN, PriceUnit.PER_LOCATION: SEATS, PriceUnit.PER_LEAD: LEADS}
MAIN, HARBOUR = Location(UUID(int=50), "Main St"), Location(UUID(int=51), "Harbour")
POLICY = BillingPolicy()
FRIDAY, MONDAY, TUESDAY = date(2026, 1, 16), date(2026, 1, 19), date(2026, 1, 20)
L = SubscriptionLine
"""Short for the event classes: `L.Renewed`."""
CARD = CardToken("tok_visa", CardBrand.VISA, "4242", 1, 2026, "Ada Lovelace")
"""Good through January 2026, the month of NOW."""
EXPIRED_CARD = CardToken("tok_old", CardBrand.VISA, "0005", 12, 2025, "Ada Lovelace")


def usd(minor: int) -> Money:
    return Money(minor, "USD")


def period(start: tuple[int, int, int], end: tuple[int, int, int]) -> BillingPeriod:
    return BillingPeriod(date(*start), date(*end))


def new_line(product: Product = PLAN, **overrides: Any) -> SubscriptionLine:
    fields: dict[str, Any] = {
        "line_id": uuid4(),
        "partner_id": PARTNER,
        "client_id": CLIENT,
        "product": product,
        "term": Term.MONTHLY,
        "anchor": Anchor.ANNIVERSARY,
        "payer": Payer.PARTNER,
        "unified_billing": True,
        "locations": [MAIN] if product.unit is PriceUnit.PER_LOCATION else [],
        "now": NOW,
    }
    return SubscriptionLine.create(**{**fields, **overrides})


def draft(product: Product = PLAN, **overrides: Any) -> SubscriptionLine:
    """Given a fresh line (its `Created` event already collected)."""
    line = new_line(product, **overrides)
    line.collect_events()
    return line


def renew_next(line: SubscriptionLine) -> BillingPeriod:
    """Renew a line for its next period, on the day that period starts (R-C1)."""
    start = line.next_period.start
    return line.renew(start, start, NOW)


def active(product: Product = PLAN, start: date = date(2026, 1, 31), **kw: Any) -> SubscriptionLine:
    line = draft(product, **kw)
    line.activate(start, start, NOW)
    line.collect_events()
    return line


def transfer_request(**overrides: Any) -> TransferRequest:
    fields: dict[str, Any] = {
        "end_user_name": "  Bistro   Uno ",
        "current_reseller_id": PARTNER,
        "new_reseller_id": NEW_PARTNER,
        "preferred_date": FRIDAY,
        "owner_email": "owner@Bistro.Example",
        "invoice_email": "ap@bistro.example",
        "billing": Term.ANNUAL,
        "payment_method": PaymentSource.DIRECT_DEBIT,
    }
    return TransferRequest(**{**fields, **overrides})


def request(line: SubscriptionLine, *consents: TransferParty, **kw: Any) -> None:
    policy, today = kw.pop("policy", POLICY), kw.pop("today", FRIDAY)
    line.request_transfer(transfer_request(**kw), consents, today, policy, NOW)
