"""Partner accounts to test with, and the commands that set them up (R-L3, R-L4)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from domain.money import Money
from domain.partner_account import PartnerAccount
from domain.payment_methods import BankAccountToken, CardBrand, CardToken
from domain.pricing import BillingPolicy
from domain.values import Address

A = PartnerAccount
SIGNUP = datetime(2026, 1, 15, 15, 0, tzinfo=UTC)
"""10:00 in New York on Thursday 15 January 2026: budgets reset on the 15th (R-L3)."""
CARD = CardToken("tok_visa", CardBrand.VISA, "4242", 1, 2026, "Ada Lovelace")
"""Good through January 2026."""
BANK = BankAccountToken("tok_ach", "6789", "011000015", "Acme Inc")
ADDRESS = Address.of(["1 Main St"], "Springfield", "12345", "us")
GRACE_DAYS = BillingPolicy().grace_period_days
"""One week (R-L4)."""


def usd(minor: int) -> Money:
    return Money(minor, "USD")


def at(days: int, hours: int = 0) -> datetime:
    return SIGNUP + timedelta(days=days, hours=hours)


def account(*setup: Callable[[PartnerAccount], object]) -> PartnerAccount:
    """Given an account opened at SIGNUP in New York, after these commands."""
    opened = PartnerAccount.open(
        partner_id=uuid4(), name="Acme", currency="USD", time_zone="America/New_York", now=SIGNUP
    )
    for command in setup:
        command(opened)
    opened.collect_events()
    return opened


def budget(minor: int | None) -> Callable[[PartnerAccount], object]:
    return lambda a: a.set_budget(None if minor is None else usd(minor), SIGNUP)


def charge(minor: int, now: datetime = SIGNUP) -> Callable[[PartnerAccount], object]:
    return lambda a: a.charge_budget(uuid4(), usd(minor), now)


def missed(invoice: UUID, now: datetime = SIGNUP) -> Callable[[PartnerAccount], object]:
    return lambda a: a.record_missed_payment(invoice, GRACE_DAYS, now)
