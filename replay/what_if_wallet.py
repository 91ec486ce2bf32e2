"""The company balance and the bonus wallet under a proposed policy (what-if, issue 14).

After the invoices' amounts are decided again (replay/what_if_redecide.py), the events of
money moving from and to the partner's balance and wallet follow them, in log order: a
balance or bonus payment spends what the payment now pays, a refund to the balance gives back
what the refund now is, cashback is the proposed rate on the price the client paid (R-C4), and
a refund takes back the cashback its payment earned, as far as the wallet holds it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol
from uuid import uuid5

from domain.billing_policy import PolicyField
from domain.money import Money
from domain.payment_methods import PaymentSource
from domain.pricing import BillingPolicy, cashback_clawback, cashback_for
from domain.values import Payer, bonus_wallet_id
from ledger.billing import PARTNERS_OWN_MONEY
from replay.what_if_events import (
    AFTER,
    CASHBACK_CREDIT,
    INVOICE_EVENTS,
    InvoiceState,
    LoggedEvent,
    PaymentState,
    Proposal,
    Redecided,
    RefundState,
    day_of,
    minor,
    money_json,
    text_of,
)


class Redecisions(Protocol):
    """What the walk reads of the invoices decided again (replay/what_if_redecide.py)."""

    result: Redecided
    proposal: Proposal
    paid: dict[str, tuple[LoggedEvent, InvoiceState, PaymentState]]
    refunded: dict[str, int]
    refunds: dict[str, list[RefundState]]

    def version_on(self, day: date) -> int: ...

    def policy(self, version: int | None, day: date) -> BillingPolicy: ...


class WalletWalk:
    """Walks the balance and wallet events of a history whose invoices were decided again."""

    def __init__(self, redecider: Redecisions) -> None:
        self.redecider = redecider
        self.result = redecider.result
        self.proposal = redecider.proposal
        self.paid = redecider.paid
        self.refunded = redecider.refunded
        self.refunds = redecider.refunds

    def run(self, events: Sequence[LoggedEvent]) -> None:
        """The balance and wallet events, in log order, with the cashback the proposed rate
        would have credited where the recorded one credited none."""
        walk = [e for e in events if e.kind not in INVOICE_EVENTS]
        if self.proposal.touches(PolicyField.CASHBACK_RATE):
            walk += self._cashback_to_add(events)
            walk.sort(key=lambda e: e.position)
        wallets: dict[str, int] = {}
        earned: dict[str, int] = {}
        for logged in walk:
            event = logged.event
            if logged.kind in ("PartnerAccount.BalanceSpent", "BonusWallet.Spent"):
                spent = self.paid.get(text_of(event["spend_id"]))
                if spent is not None:
                    self._set_amount(logged, spent[2].new, spent[1].currency)
                if logged.kind == "BonusWallet.Spent":
                    partner = text_of(event["partner_id"])
                    wallets[partner] = wallets.get(partner, 0) - minor(event["amount"])
            elif logged.kind == "PartnerAccount.BalanceRestored":
                refund = self.refunded.get(text_of(event["refund_id"]))
                if refund is not None:
                    self._set_amount(logged, refund, str(event["amount"]["_data_"]["currency"]))
            elif logged.kind == CASHBACK_CREDIT:
                self._credited(logged, wallets, earned)
            elif logged.kind == "BonusWallet.ClawedBack":
                self._clawed_back(logged, wallets, earned)

    def _set_amount(self, logged: LoggedEvent, new: int, currency: str) -> None:
        if minor(logged.event["amount"]) != new:
            logged.event["amount"] = money_json(new, currency)
            self.result.update(logged)

    def _credited(
        self, logged: LoggedEvent, wallets: dict[str, int], earned: dict[str, int]
    ) -> None:
        """R-C4 again: cashback on what the client paid for the price, at the proposed rate."""
        event = logged.event
        partner = text_of(event["partner_id"])
        currency = str(event["amount"]["_data_"]["currency"])
        amount = minor(event["amount"])
        if text_of(event["reason"]) == "cashback" and event.get("payment_id"):
            payment_id = text_of(event["payment_id"])
            paid = self.paid.get(payment_id)
            if paid is not None:
                version = event.get("policy_version")
                policy = self.redecider.policy(
                    None if version is None else int(version), day_of(event["credited_on"])
                )
                price = Money(paid[2].new - paid[2].new_fee, currency)
                amount = cashback_for(price, policy).amount_minor
                if amount <= 0:
                    self.result.deleted.add(logged.position)
                    return
                self._set_amount(logged, amount, currency)
            earned[payment_id] = amount
        wallets[partner] = wallets.get(partner, 0) + amount

    def _clawed_back(
        self, logged: LoggedEvent, wallets: dict[str, int], earned: dict[str, int]
    ) -> None:
        """R-C4 again: a refund takes back the cashback its payment earned, in proportion to
        the price refunded, as far as the wallet holds it (the rest is a shortfall)."""
        event = logged.event
        partner = text_of(event["partner_id"])
        payment_id = text_of(event["payment_id"])
        currency = str(event["amount"]["_data_"]["currency"])
        # The refund this claw-back followed: the last one before it not yet matched.
        waiting = [r for r in self.refunds.get(payment_id, []) if not r.matched]
        before = [r for r in waiting if r.position < logged.position]
        if not waiting:
            return
        refund = before[-1] if before else waiting[0]
        refund.matched = True

        def money(amount_minor: int) -> Money:
            return Money(amount_minor, currency)

        due = cashback_clawback(
            money(refund.payment_amount),
            money(refund.fee),
            money(refund.refunded_before),
            money(refund.amount),
            money(earned.get(payment_id, 0)),
        ).amount_minor
        if due <= 0:
            self.result.deleted.add(logged.position)
            return
        taken = min(due, max(wallets.get(partner, 0), 0))
        wallets[partner] = wallets.get(partner, 0) - taken
        earned[payment_id] = earned.get(payment_id, 0) - due
        if (minor(event["amount"]), minor(event["shortfall"])) != (taken, due - taken):
            event["amount"] = money_json(taken, currency)
            event["shortfall"] = money_json(due - taken, currency)
            self.result.update(logged)

    def _cashback_to_add(self, events: Sequence[LoggedEvent]) -> list[LoggedEvent]:
        """Cashback credits the proposed rate makes where the recorded one made none."""
        credited = {
            text_of(e.event["payment_id"])
            for e in events
            if e.kind == CASHBACK_CREDIT and e.event.get("payment_id")
        }
        added = []
        for payment_id, (logged, invoice, payment) in self.paid.items():
            if (
                payment_id in credited
                or invoice.payer != Payer.CLIENT.value
                or PaymentSource(payment.source) in PARTNERS_OWN_MONEY
            ):
                continue
            event = logged.event
            day = day_of(event["received_on"])
            wallet = bonus_wallet_id(invoice.partner_id)
            added.append(
                LoggedEvent(
                    logged.position + AFTER,
                    wallet,
                    0,
                    CASHBACK_CREDIT,
                    {
                        "amount": money_json(0, invoice.currency),
                        "reason": {"_type_": "enum:credit_reason", "_data_": "cashback"},
                        "note": None,
                        "client_id": event.get("payer_id"),
                        "credit_id": {
                            "_type_": "uuid_hex",
                            "_data_": uuid5(wallet, f"what-if/{payment_id}").hex,
                        },
                        "partner_id": event["partner_id"],
                        "payment_id": event["payment_id"],
                        "credited_on": event["received_on"],
                        "timestamp": event["timestamp"],
                        "class_version": 3,
                        "policy_version": self.redecider.version_on(day),
                    },
                )
            )
        for logged in added:
            # Decided in the walk, where the wallet's balance is known; kept if above zero.
            self.result.inserted.append(logged)
        return added
