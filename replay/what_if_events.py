"""What a what-if works on: a proposal, the scratch log's events as JSON, and what it changes.

A proposal is policy values (as `ledgerline policy` takes them) from a business date on; the
events are the log's, as the read models read them (their `event` JSON), at SPACING times
their position in the scratch log.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

from domain.billing_policy import (
    DISCOUNT_PREFIX,
    PolicyField,
    canonical_changes,
    changed_policy,
)
from domain.calendar import Term
from domain.catalogue import UNIT_PRICE_MAX_MINOR, clean_code
from domain.errors import InvalidValue
from domain.money import check_currency
from domain.pricing import BillingPolicy

SPACING = 4
"""An event at log position p is at p * SPACING in the scratch log, so that an event the
proposed rules add (a card fee line before its payment, cashback after it) has a place."""
BEFORE, AFTER = -1, 1
REDECIDED_FIELDS = frozenset({PolicyField.CARD_FEE_RATE, PolicyField.CASHBACK_RATE})
"""With `duration_discount:TERM`, the policy values whose amounts a what-if decides again; the
others (periods, thresholds) decide when things happen, which a what-if keeps as they were."""
CASHBACK_CREDIT = "BonusWallet.Credited"
FEE_ADDED = "Invoice.CardFeeAdded"
READS = (
    "Invoice.Issued",
    FEE_ADDED,
    "Invoice.PaymentReceived",
    "Invoice.PaymentRefunded",
    "Invoice.Voided",
    "Invoice.CreditNoteIssued",
    "PartnerAccount.BalanceSpent",
    "PartnerAccount.BalanceRestored",
    CASHBACK_CREDIT,
    "BonusWallet.Spent",
    "BonusWallet.ClawedBack",
)
"""The events whose amounts a what-if may decide again."""
INVOICE_EVENTS = frozenset(READS[:6])


@dataclass(frozen=True)
class Proposal:
    """Proposed policy values (canonical text by name), from a business date on (or always)."""

    changes: Mapping[str, str] = field(default_factory=dict)
    from_day: date | None = None
    prices: Mapping[tuple[str, str], int] = field(default_factory=dict)
    """Proposed monthly unit prices in minor units, by product code and currency."""

    def applies_on(self, day: date) -> bool:
        return bool(self.changes) and self.begun_on(day)

    def begun_on(self, day: date) -> bool:
        return self.from_day is None or day >= self.from_day

    def price_on(self, code: str | None, currency: str, day: date) -> int | None:
        """The proposed unit price of a product for a period starting `day`, if any."""
        if code is None or not self.begun_on(day):
            return None
        return self.prices.get((code, currency))

    def policy(self, recorded: BillingPolicy, day: date) -> BillingPolicy:
        """The recorded version with the proposed values, if they apply on `day`."""
        if not self.applies_on(day):
            return recorded
        return changed_policy(recorded, self.changes, recorded.version)

    def touches(self, name: str) -> bool:
        return any(change == name for change in self.changes)


def proposal(
    changes: Mapping[str, str],
    from_day: date | None = None,
    prices: Mapping[str, str] | None = None,
) -> Proposal:
    """A proposal the rules accept, naming only values a what-if decides again, and prices as
    `code@CUR` and a whole number of minor units (`messaging-line@RUB` and `160000`); refused
    with `InvalidValue` (which names the value) otherwise."""
    unit_prices = {}
    for name, text in (prices or {}).items():
        code, at, currency = name.partition("@")
        minor_units = text.strip()
        if not at or not minor_units.isascii() or not minor_units.isdigit():
            raise InvalidValue(
                f"A proposed price is CODE@CUR=AMOUNT_MINOR (messaging-line@RUB=160000), not "
                f"{name}={text}.",
                field="price",
            )
        key = (clean_code(code), check_currency(currency))
        # The length first: `int` of thousands of digits is refused by Python itself (and slow).
        if len(minor_units) > len(str(UNIT_PRICE_MAX_MINOR)) or not (
            0 < int(minor_units) <= UNIT_PRICE_MAX_MINOR
        ):
            raise InvalidValue(
                f"A unit price is from 1 to {UNIT_PRICE_MAX_MINOR} minor units, not {text}.",
                field="price",
            )
        unit_prices[key] = int(minor_units)
    for name in changes:
        if name not in REDECIDED_FIELDS and not name.startswith(DISCOUNT_PREFIX):
            raise InvalidValue(
                f"{name!r} is not a value a what-if decides again; it tries card_fee_rate, "
                f"cashback_rate and {DISCOUNT_PREFIX}TERM.",
                field=name,
            )
    if changes:
        changed_policy(BillingPolicy(), changes, 0)
    return Proposal(canonical_changes(changes) if changes else {}, from_day, unit_prices)


@dataclass
class LoggedEvent:
    """One event of the scratch log: its position there, its aggregate, and its JSON."""

    position: int
    originator_id: UUID
    version: int
    kind: str
    """`Invoice.Issued`."""
    event: dict[str, Any]


@dataclass(frozen=True)
class LineFact:
    """What a subscription line's events said of its billing from a scratch position on: its
    term (created, transferred: R-E1) or its billing day (activated)."""

    position: int
    term: Term | None = None
    anchor_day: int | None = None


@dataclass
class Redecided:
    """What the proposed rules change in the scratch log."""

    updated: dict[int, dict[str, Any]] = field(default_factory=dict)
    deleted: set[int] = field(default_factory=set)
    inserted: list[LoggedEvent] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.updated) + len(self.deleted) + len(self.inserted)

    def update(self, logged: LoggedEvent) -> None:
        """The event at its position, as decided again, replaces the one recorded."""
        self.updated[logged.position] = logged.event


def minor(value: Any) -> int:
    return int(value["_data_"]["amount_minor"])


def money_json(amount_minor: int, currency: str) -> dict[str, Any]:
    return {"_type_": "money", "_data_": {"amount_minor": amount_minor, "currency": currency}}


def day_of(value: Any) -> date:
    return date.fromisoformat(str(value["_data_"]))


def text_of(value: Any) -> str:
    return str(value["_data_"]) if isinstance(value, dict) else str(value)


@dataclass
class PaymentState:
    source: str
    old: int
    new: int
    old_fee: int
    new_fee: int
    old_refunded: int = 0
    new_refunded: int = 0


@dataclass
class InvoiceState:
    currency: str
    payer: str
    partner_id: UUID
    old_total: int
    new_total: int
    old_credited: int = 0
    new_credited: int = 0
    void: bool = False
    payments: dict[str, PaymentState] = field(default_factory=dict)

    def outstanding(self, new: bool) -> int:
        """What the payer owes: the total less credit notes and payments (none once void)."""
        if self.void:
            return 0
        paid = sum(p.new if new else p.old for p in self.payments.values())
        if new:
            return self.new_total - self.new_credited - paid
        return self.old_total - self.old_credited - paid


@dataclass
class RefundState:
    position: int
    payment_amount: int
    fee: int
    refunded_before: int
    amount: int
    matched: bool = False


def redecided_share(old: int, old_owed: int, new_owed: int) -> int:
    """A payment, refund or credit note under the proposed amounts: all of what would be owed
    if it was all of what was owed, else the part it was, at most what would be owed (and the
    recorded amount when nothing would be owed: a refusal cannot be replayed)."""
    new = new_owed if old == old_owed else min(old, new_owed)
    return new if new > 0 else old
