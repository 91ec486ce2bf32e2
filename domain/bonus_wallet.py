"""The bonus wallet: a partner's bonuses, earned as cashback and spent on any line."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import (
    AmountNotPositive,
    BonusCreditTooLarge,
    CurrencyMismatch,
    InsufficientBonus,
    InvalidValue,
)
from domain.money import (
    AMOUNT_MAX_MINOR,
    WALLET_MAX_MINOR,
    Money,
    check_currency,
    minor_unit_exponent,
    require_at_most,
)
from domain.values import bonus_wallet_id, clean_text


class CreditReason(StrEnum):
    """Why bonuses were credited."""

    CASHBACK = "cashback"
    """A client paid its own line (R-C4)."""
    PROMOTION = "promotion"
    """Granted by the vendor, to promote (a campaign, a launch)."""
    GOODWILL = "goodwill"
    """Granted by the vendor, to make good (a service failure, a billing mistake)."""


VENDOR_CREDIT_REASONS = frozenset({CreditReason.PROMOTION, CreditReason.GOODWILL})
"""The credits the vendor grants by hand; cashback is earned, never granted."""
VENDOR_CREDIT_MAX_MAJOR = 10_000
"""The most one vendor credit grants, in major units of the wallet's currency (10,000 USD,
10,000 JPY): above it is an extra zero typed by mistake, and a real debt of that size is
settled with a credit note on the invoice, which the partner can see on its documents."""


class BonusWallet(Aggregate):
    """A partner's one bonus wallet: bonuses belong to the partner, not a client (R-C5)."""

    class Event(Aggregate.Event):
        """Every wallet event names its partner (the future partition key)."""

        partner_id: UUID

    class Opened(Event, Aggregate.Created):
        """The partner's wallet was opened, empty, in the account's currency."""

        currency: str

    def __init__(self, partner_id: UUID, currency: str) -> None:
        self.partner_id = partner_id
        self.currency = currency
        self.balance = Money.zero(currency)
        self.earned = Money.zero(currency)
        self.spent = Money.zero(currency)
        self.clawed_back = Money.zero(currency)
        """Cashback actually taken back from the wallet (R-C4)."""
        self.clawback_shortfall = Money.zero(currency)
        """Cashback owed back but not taken, because the bonuses were already spent."""
        self.earned_by_payment: dict[str, Money] = {}
        """Cashback earned per client payment, so a refund claws back at most that (R-C4)."""

    @classmethod
    def open(cls, partner_id: UUID, currency: str, now: datetime) -> BonusWallet:
        check_currency(currency)
        return cls._create(
            cls.Opened,
            id=bonus_wallet_id(partner_id),
            partner_id=partner_id,
            currency=currency,
            timestamp=now,
        )

    class Credited(Event):
        """Bonuses were added: cashback on a client's own payment (R-C4), or a vendor's
        promotion or goodwill credit, with its note saying why (R-C5)."""

        class_version = 3

        credit_id: UUID
        amount: Money
        reason: CreditReason
        payment_id: UUID | None
        client_id: UUID | None
        credited_on: date
        note: str | None
        policy_version: int | None
        """Cashback: the version of the billing policy whose rate made it (on the payment's
        date); None for a vendor's grant."""

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Version 1 had no note: no credit before it said why in words."""
            state["note"] = None

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            """Version 2 named no policy version: all cashback before it was at version 0's
            rate, and a grant has none."""
            reason = state["reason"]
            cashback = getattr(reason, "value", reason) == CreditReason.CASHBACK.value
            state["policy_version"] = 0 if cashback else None

        def apply(self, wallet: BonusWallet) -> None:
            wallet.balance = wallet.balance + self.amount
            wallet.earned = wallet.earned + self.amount
            if self.payment_id is not None:
                key = str(self.payment_id)
                before = wallet.earned_by_payment.get(key, Money.zero(wallet.currency))
                wallet.earned_by_payment[key] = before + self.amount

    def credit(
        self,
        *,
        credit_id: UUID,
        amount: Money,
        reason: CreditReason,
        on: date,
        now: datetime,
        payment_id: UUID | None = None,
        client_id: UUID | None = None,
        policy_version: int = 0,
    ) -> None:
        """Add bonuses; cashback names the client payment that earned it (R-C4) and the
        version of the billing policy whose rate it was earned at."""
        self._require_amount(amount)
        if reason is CreditReason.CASHBACK and payment_id is None:
            # Without it a refund of that payment could not claw the cashback back.
            raise InvalidValue("Cashback names the payment that earned it.", field="payment_id")
        self._require_room(amount)
        self._trigger(
            self.Credited,
            now,
            credit_id=credit_id,
            amount=amount,
            reason=reason,
            payment_id=payment_id,
            client_id=client_id,
            credited_on=on,
            note=None,
            policy_version=policy_version if reason is CreditReason.CASHBACK else None,
        )

    def grant(
        self,
        *,
        credit_id: UUID,
        amount: Money,
        reason: CreditReason,
        note: str,
        on: date,
        now: datetime,
    ) -> None:
        """The vendor grants bonuses: a promotion or goodwill, saying why; the partner spends
        them on any line (R-C5)."""
        if reason not in VENDOR_CREDIT_REASONS:
            raise InvalidValue("The vendor grants promotions and goodwill.", field="reason")
        self._require_amount(amount)
        most = VENDOR_CREDIT_MAX_MAJOR * 10 ** minor_unit_exponent(self.currency)
        if amount.amount_minor > most:
            raise BonusCreditTooLarge(
                f"One credit grants at most {Money(most, self.currency)}.",
                field="amount",
                limit_minor=most,
            )
        self._require_room(amount)
        self._trigger(
            self.Credited,
            now,
            credit_id=credit_id,
            amount=amount,
            reason=reason,
            payment_id=None,
            client_id=None,
            credited_on=on,
            note=clean_text("note", note),
            policy_version=None,
        )

    class Spent(Event):
        """Bonuses paid (part of) an invoice for any of the partner's lines (R-C5)."""

        spend_id: UUID
        amount: Money
        invoice_id: UUID
        spent_on: date

        def apply(self, wallet: BonusWallet) -> None:
            wallet.balance = wallet.balance - self.amount
            wallet.spent = wallet.spent + self.amount

    def spend(
        self, spend_id: UUID, amount: Money, invoice_id: UUID, on: date, now: datetime
    ) -> None:
        """Spend bonuses on an invoice; never more than the wallet holds (R-C5)."""
        self._require_amount(amount)
        if amount > self.balance:
            raise InsufficientBonus(
                f"The wallet holds {self.balance}, not {amount}.",
                available=self.balance.amount_minor,
                needed=amount.amount_minor,
            )
        self._trigger(
            self.Spent, now, spend_id=spend_id, amount=amount, invoice_id=invoice_id, spent_on=on
        )

    class ClawedBack(Event):
        """Cashback was taken back because the payment that earned it was refunded.

        `shortfall` is what could not be taken because the bonuses were already spent: the
        wallet never goes below zero.
        """

        clawback_id: UUID
        payment_id: UUID
        amount: Money
        shortfall: Money
        clawed_on: date

        def apply(self, wallet: BonusWallet) -> None:
            wallet.balance = wallet.balance - self.amount
            wallet.clawed_back = wallet.clawed_back + self.amount
            wallet.clawback_shortfall = wallet.clawback_shortfall + self.shortfall
            key = str(self.payment_id)
            left = wallet.earned_by_payment[key] - self.amount - self.shortfall
            wallet.earned_by_payment[key] = left

    def claw_back(
        self,
        *,
        clawback_id: UUID,
        payment_id: UUID,
        due: Money,
        on: date,
        now: datetime,
    ) -> Money:
        """Take back up to `due` of a payment's cashback; return what was taken (never < 0)."""
        if due.currency != self.currency:
            raise CurrencyMismatch(
                f"The wallet is in {self.currency}.", expected=self.currency, got=due.currency
            )
        earned = self.earned_by_payment.get(str(payment_id), Money.zero(self.currency))
        owed = min(due, earned, key=lambda money: money.amount_minor)
        if not owed.is_positive():
            return Money.zero(self.currency)
        taken = min(owed, self.balance, key=lambda money: money.amount_minor)
        taken = max(taken, Money.zero(self.currency), key=lambda money: money.amount_minor)
        self._trigger(
            self.ClawedBack,
            now,
            clawback_id=clawback_id,
            payment_id=payment_id,
            amount=taken,
            shortfall=owed - taken,
            clawed_on=on,
        )
        return taken

    def cashback_earned_on(self, payment_id: UUID) -> Money:
        """Cashback a payment earned and has not had clawed back."""
        return self.earned_by_payment.get(str(payment_id), Money.zero(self.currency))

    def _trigger(self, event_class: type[Any], now: datetime, **fields: Any) -> None:
        self.trigger_event(event_class, partner_id=self.partner_id, timestamp=now, **fields)

    def _require_room(self, amount: Money) -> None:
        """Refuse a credit that would take the wallet above WALLET_MAX_MINOR."""
        require_at_most(self.balance + amount, WALLET_MAX_MINOR, "amount", "The bonus wallet")

    def _require_amount(self, amount: Money) -> None:
        if amount.currency != self.currency:
            raise CurrencyMismatch(
                f"The wallet is in {self.currency}.", expected=self.currency, got=amount.currency
            )
        if not amount.is_positive():
            raise AmountNotPositive("The amount must be above zero.", field="amount")
        require_at_most(amount, AMOUNT_MAX_MINOR, "amount", "An amount")
