"""The payment gateway port, shaped after how card and ACH processors work.

Raw card and bank data enter only `tokenize_card` and `tokenize_bank_account`, and leave as a
token with safe display data (R-X4). Charges and refunds take an idempotency key: the same key
always means the same charge, so a retried command never charges twice. A charge either
succeeds, is declined with a processor's decline code and a reason a person can read (R-H4),
or, for ACH, is pending until it settles or bounces days later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from domain.money import Money
from domain.payment_methods import BankAccountDetails, BankAccountToken, CardDetails, CardToken

PaymentMethod = CardToken | BankAccountToken


class ChargeStatus(StrEnum):
    SUCCEEDED = "succeeded"
    DECLINED = "declined"
    PENDING = "pending"
    """ACH: accepted for collection; it settles or bounces days later (see `settlement`)."""


@dataclass(frozen=True, slots=True)
class ChargeResult:
    """What the processor answered to a charge."""

    charge_id: str
    status: ChargeStatus
    amount: Money
    decline_code: str | None = None
    """The processor's code (`card_declined`, `expired_card`, `insufficient_funds`, …)."""
    reason: str | None = None
    """Why, in words for the payer (R-H4)."""


@dataclass(frozen=True, slots=True)
class RefundResult:
    refund_id: str
    charge_id: str
    amount: Money


@dataclass(frozen=True, slots=True)
class Settlement:
    """A pending ACH charge that settled, or bounced with a code and a reason."""

    charge_id: str
    succeeded: bool
    decline_code: str | None = None
    reason: str | None = None


class GatewayUnavailable(Exception):
    """The processor could not be reached or failed; the outcome of the call is unknown.

    Retry with the same idempotency key: the processor de-duplicates it.
    """


class PaymentGateway(Protocol):
    """What Ledgerline needs from a card and ACH processor.

    `now` is the instant of the call, given in the payer's time zone: a processor that counts
    days from it (the simulator's ACH settlement) counts the payer's business days (R-X7).
    """

    def tokenize_card(self, card: CardDetails) -> CardToken:
        """Store the card at the processor; return its token and safe display data."""
        ...

    def tokenize_bank_account(self, account: BankAccountDetails) -> BankAccountToken:
        """Store the bank account at the processor; return its token and safe display data."""
        ...

    def charge(
        self, method: PaymentMethod, amount: Money, idempotency_key: str, now: datetime
    ) -> ChargeResult:
        """Charge a stored method; the same key returns the same result and charges once."""
        ...

    def refund(
        self, charge_id: str, amount: Money, idempotency_key: str, now: datetime
    ) -> RefundResult:
        """Refund part or all of a successful charge; the same key refunds once."""
        ...

    def settlement(self, charge_id: str, now: datetime) -> Settlement | None:
        """The outcome of a pending ACH charge, or None while it is still pending."""
        ...


class NoGateway:
    """The gateway of a process that takes no payments (administration commands such as
    `ledgerline keys`): every call is refused as unavailable, so nothing is ever charged."""

    def _refuse(self) -> GatewayUnavailable:
        return GatewayUnavailable("this process takes no payments")

    def tokenize_card(self, card: CardDetails) -> CardToken:
        raise self._refuse()

    def tokenize_bank_account(self, account: BankAccountDetails) -> BankAccountToken:
        raise self._refuse()

    def charge(
        self, method: PaymentMethod, amount: Money, idempotency_key: str, now: datetime
    ) -> ChargeResult:
        raise self._refuse()

    def refund(
        self, charge_id: str, amount: Money, idempotency_key: str, now: datetime
    ) -> RefundResult:
        raise self._refuse()

    def settlement(self, charge_id: str, now: datetime) -> Settlement | None:
        raise self._refuse()
