"""Moving a client's subscription line to another reseller (R-E1 … R-E4): the request, each
party's consent, and the move on its effective date.

Who may consent as which party is the line's rule (`SubscriptionLine.consents_permitted`):
the vendor as any, the line's reseller as the client and as itself, the reseller a pending
transfer goes to as itself only, though the line is not yet its own to read or change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from domain.errors import CurrencyMismatch, TransferNotAllowed
from domain.subscription_line import SubscriptionLine, TransferParty, TransferRequest
from ledger.commands.base import LedgerCommand, line, owned_line, partner, policy_on, today
from ledger.commands.lines import Answer
from ledger.unit_of_work import UnitOfWork


@dataclass(frozen=True, kw_only=True)
class RequestTransfer(LedgerCommand):
    """Ask to move a client's subscription to another reseller (R-E1, R-E2, R-E3), with the
    consents the asker may give at once."""

    line_id: UUID
    request: TransferRequest
    consents: tuple[TransferParty, ...] = ()

    def handle(self, uow: UnitOfWork) -> Answer:
        subscription = owned_line(uow, self.line_id, self.actor)
        subscription.require_consents_permitted(self.actor, self.consents)
        account = partner(uow, subscription.partner_id)
        receiving = partner(uow, self.request.new_reseller_id)
        if receiving.test_clock_id != account.test_clock_id:
            # Each clock's partners live in a time of their own (issue 15): a line moving
            # between two times would have its days done twice, or never.
            raise TransferNotAllowed(
                "The new reseller lives on another clock; a line moves between partners on "
                "the same clock only.",
                reason="another_clock",
            )
        currency = subscription.unit_price.currency
        if receiving.currency != currency:
            raise CurrencyMismatch(
                f"The new reseller bills in {receiving.currency}; this line is in {currency}.",
                expected=currency,
                got=receiving.currency,
            )
        day = today(uow, account)
        subscription.request_transfer(
            self.request, self.consents, day, policy_on(uow, day), uow.now
        )
        return subscription.id, transfer_state(subscription)


@dataclass(frozen=True, kw_only=True)
class GiveConsent(LedgerCommand):
    """The client or a reseller consents; with all three the transfer is scheduled (R-E4)."""

    line_id: UUID
    party: TransferParty

    def handle(self, uow: UnitOfWork) -> Answer:
        # Not `owned_line`: the reseller the transfer goes to consents before the line is its.
        subscription = line(uow, self.line_id)
        subscription.require_consents_permitted(self.actor, (self.party,))
        account = partner(uow, subscription.partner_id)
        day = today(uow, account)
        subscription.give_consent(self.party, day, policy_on(uow, day), uow.now)
        return subscription.id, transfer_state(subscription)


@dataclass(frozen=True, kw_only=True)
class CompleteTransfer(LedgerCommand):
    """On its effective date the line moves to the new reseller (R-E1, R-E3, R-E4)."""

    line_id: UUID
    on: date

    def handle(self, uow: UnitOfWork) -> Answer:
        subscription = line(uow, self.line_id)
        request = subscription.transfer
        new_partner_id = subscription.complete_transfer(self.on, uow.now)
        receiving = partner(uow, new_partner_id)
        if request is not None and str(subscription.client_id) not in receiving.clients:
            receiving.register_client(
                subscription.client_id,
                request.end_user_name,
                request.invoice_email,
                unified_billing=False,
                now=uow.now,
            )
        return subscription.id, {"partner_id": str(new_partner_id)}


def transfer_state(subscription: SubscriptionLine) -> dict[str, Any]:
    """The answer to a transfer command: whose consent is missing, and when it takes effect."""
    effective_on = subscription.transfer_effective_on
    return {
        "missing_consents": [party.value for party in subscription.missing_consents],
        "effective_on": effective_on.isoformat() if effective_on else None,
    }
