"""A deterministic payment processor for the demo and the tests, behind the gateway port.

It behaves like a real processor's test mode and needs no state: what a token does is decided
when it is created from the well-known test numbers, and written into the token (never the
number itself), so a restart or a second process sees the same behaviour. Charge ids derive
from the idempotency key, so retries return the same charge.

Cards (Stripe's test numbers; any expiry in the future, any CVV):

| number | outcome |
| --- | --- |
| 4242 4242 4242 4242, and any other valid number | succeeds |
| 4000 0000 0000 0002 | declined: `card_declined` |
| 4000 0000 0000 0069 | declined: `expired_card` |
| 4000 0000 0000 9995 | declined: `insufficient_funds` |

A stored card whose expiry has passed is declined with `expired_card` too.

Bank accounts (ACH), routing number any that passes its checksum (e.g. 110000000):

| account number | outcome |
| --- | --- |
| 000123456789, and any other | pending, settles after 2 business days |
| 000111111116 | pending, bounces after 2 business days: `no_account` |
| 000111111113 | pending, bounces: `account_closed` |
| 000222222227 | pending, bounces: `insufficient_funds` |
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime

from domain.calendar import add_business_days
from domain.money import Money
from domain.payment_methods import BankAccountDetails, BankAccountToken, CardDetails, CardToken
from ledger.payments.gateway import (
    ChargeResult,
    ChargeStatus,
    PaymentMethod,
    RefundResult,
    Settlement,
)

ACH_SETTLEMENT_BUSINESS_DAYS = 2
"""ACH debits settle (or bounce) a couple of business days after they are submitted."""

CARD_OUTCOMES = {
    "4000000000000002": "card_declined",
    "4000000000000069": "expired_card",
    "4000000000009995": "insufficient_funds",
}
BANK_OUTCOMES = {
    "000111111116": "no_account",
    "000111111113": "account_closed",
    "000222222227": "insufficient_funds",
}
REASONS = {
    "card_declined": "The card was declined by its bank.",
    "expired_card": "The card has expired.",
    "insufficient_funds": "There were not enough funds.",
    "no_account": "The bank account does not exist.",
    "account_closed": "The bank account is closed.",
}
OK = "ok"
_ACH_CHARGE = re.compile(r"^sim_ach_(?P<outcome>[a-z_]+)_(?P<settles>\d{8})_[0-9a-f]+$")


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


@dataclass
class SimulatedGateway:
    """The simulator. `charges` records every charge made, `tokens` every card or bank account
    tokenised (the tokens, never a number), for tests to inspect."""

    def __post_init__(self) -> None:
        self.charges: dict[str, ChargeResult] = {}
        self.refunds: dict[str, RefundResult] = {}
        self.tokens: list[str] = []

    def tokenize_card(self, card: CardDetails) -> CardToken:
        outcome = CARD_OUTCOMES.get(card.number, OK)
        token = f"sim_card_{outcome}_{_digest(card.number, card.holder)}"
        self.tokens.append(token)
        return CardToken.for_card(token, card)

    def tokenize_bank_account(self, account: BankAccountDetails) -> BankAccountToken:
        outcome = BANK_OUTCOMES.get(account.account_number, OK)
        token = f"sim_bank_{outcome}_{_digest(account.routing_number, account.account_number)}"
        self.tokens.append(token)
        return BankAccountToken.for_account(token, account)

    def charge(
        self, method: PaymentMethod, amount: Money, idempotency_key: str, now: datetime
    ) -> ChargeResult:
        if idempotency_key in self.charges:
            return self.charges[idempotency_key]
        key = _digest(idempotency_key)
        if isinstance(method, CardToken):
            outcome = _outcome(method.token, "sim_card_")
            if outcome == OK and method.is_expired(now.date()):
                outcome = "expired_card"
            result = (
                ChargeResult(f"sim_ch_{key}", ChargeStatus.SUCCEEDED, amount)
                if outcome == OK
                else ChargeResult(
                    f"sim_ch_{key}", ChargeStatus.DECLINED, amount, outcome, REASONS[outcome]
                )
            )
        else:
            outcome = _outcome(method.token, "sim_bank_")
            settles = add_business_days(now.date(), ACH_SETTLEMENT_BUSINESS_DAYS)
            charge_id = f"sim_ach_{outcome}_{settles:%Y%m%d}_{key}"
            result = ChargeResult(charge_id, ChargeStatus.PENDING, amount)
        self.charges[idempotency_key] = result
        return result

    def refund(
        self, charge_id: str, amount: Money, idempotency_key: str, now: datetime
    ) -> RefundResult:
        if idempotency_key not in self.refunds:
            self.refunds[idempotency_key] = RefundResult(
                f"sim_re_{_digest(idempotency_key)}", charge_id, amount
            )
        return self.refunds[idempotency_key]

    def settlement(self, charge_id: str, now: datetime) -> Settlement | None:
        match = _ACH_CHARGE.match(charge_id)
        if match is None:
            raise ValueError("not a simulated ACH charge id")
        settles = date(
            int(match["settles"][:4]), int(match["settles"][4:6]), int(match["settles"][6:])
        )
        if now.date() < settles:
            return None
        outcome = match["outcome"]
        if outcome == OK:
            return Settlement(charge_id, succeeded=True)
        return Settlement(charge_id, succeeded=False, decline_code=outcome, reason=REASONS[outcome])


def _outcome(token: str, prefix: str) -> str:
    if not token.startswith(prefix):
        raise ValueError("not a token of this simulator")
    outcome = token[len(prefix) :].rsplit("_", 1)[0]
    return outcome if outcome == OK or outcome in REASONS else OK
