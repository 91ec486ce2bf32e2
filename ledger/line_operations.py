"""The ledger's commands on subscription lines: create, send, accept, activate, renew, cancel,
locations, autopay, a client's card, leads and transfers (R-C1, R-H1, R-H5, R-L1, R-E1).

A mixin of `Ledger` (ledger/application.py): each method builds one command and runs it, as
`actor` (the vendor unless a partner is named: a partner acts on its own lines only). What
autopay charges after an invoice is issued is `Charging`'s. The HTTP edge builds the same
commands and awaits them (`Ledger.submit`, `submit_billing_command`); a card it puts on a line
through `attach_line_card`, in a thread of its own: the processor's answer is blocking I/O.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import date, datetime
from uuid import UUID

from domain.calendar import Anchor, Term
from domain.errors import InvalidValue, LineNotFound
from domain.money import Money
from domain.payment_methods import CardDetails, CardToken, MethodSummary, PaymentSource
from domain.subscription_line import TransferParty, TransferRequest
from domain.values import VENDOR, Actor, Location, Payer
from ledger.charging import Charging
from ledger.clock import Clock
from ledger.command_bus import (
    CommandBus,
    derived_id,
    key_or_fresh,
    result_including,
    result_including_charges,
)
from ledger.command_records import CommandResult
from ledger.commands import line_cards, line_leads, line_transfers
from ledger.commands import lines as line_commands
from ledger.commands.lines import Outstanding
from ledger.unit_of_work import Command


class LineOperations:
    """Commands on a subscription line."""

    bus: CommandBus
    charging: Charging
    clock: Clock

    def create_line(
        self,
        partner_id: UUID,
        client_id: UUID,
        product_code: str,
        *,
        term: Term = Term.MONTHLY,
        payer: Payer = Payer.PARTNER,
        unified_billing: bool = False,
        locations: tuple[Location, ...] = (),
        anchor: Anchor | None = None,
        line_id: UUID | None = None,
        actor: Actor = VENDOR,
        key: str | None = None,
    ) -> CommandResult:
        return self.bus.execute(
            line_commands.CreateLine(
                line_id=line_id or derived_id(key),
                partner_id=partner_id,
                client_id=client_id,
                product_code=product_code,
                term=term,
                payer=payer,
                unified_billing=unified_billing,
                locations=locations,
                anchor=anchor,
                actor=actor,
            ),
            key,
        )

    def send_line(
        self, line_id: UUID, *, actor: Actor = VENDOR, key: str | None = None
    ) -> CommandResult:
        return self.bus.execute(line_commands.SendLine(line_id=line_id, actor=actor), key)

    def accept_line(
        self, line_id: UUID, *, actor: Actor = VENDOR, key: str | None = None
    ) -> CommandResult:
        return self.bus.execute(line_commands.AcceptLine(line_id=line_id, actor=actor), key)

    def activate_line(
        self,
        line_id: UUID,
        start_on: date | None = None,
        *,
        actor: Actor = VENDOR,
        key: str | None = None,
    ) -> CommandResult:
        """Start a line and bill its first period; autopay by card or debit follows at once."""
        command = line_commands.ActivateLine(line_id=line_id, start_on=start_on, actor=actor)
        return self._billing_command(command, key_or_fresh(key))

    def renew_line(
        self, line_id: UUID, period_start: date, *, actor: Actor = VENDOR, key: str | None = None
    ) -> CommandResult:
        """Renew a line for the period it names (its next); each period is renewed once."""
        command = line_commands.RenewLine(line_id=line_id, period_start=period_start, actor=actor)
        return self._billing_command(command, key_or_fresh(key))

    def cancel_line(
        self, line_id: UUID, reason: str, *, actor: Actor = VENDOR, key: str | None = None
    ) -> CommandResult:
        command = line_commands.CancelLine(line_id=line_id, reason=reason, actor=actor)
        return self.bus.execute(command, key)

    def pause_line(
        self, line_id: UUID, reason: str, *, actor: Actor = VENDOR, key: str | None = None
    ) -> CommandResult:
        command = line_commands.PauseLine(line_id=line_id, reason=reason, actor=actor)
        return self.bus.execute(command, key)

    def resume_line(
        self, line_id: UUID, *, actor: Actor = VENDOR, key: str | None = None
    ) -> CommandResult:
        return self.bus.execute(line_commands.ResumeLine(line_id=line_id, actor=actor), key)

    def add_location(
        self, line_id: UUID, location: Location, *, actor: Actor = VENDOR, key: str | None = None
    ) -> CommandResult:
        command = line_commands.AddLocation(line_id=line_id, location=location, actor=actor)
        return self.bus.execute(command, key)

    def remove_location(
        self, line_id: UUID, location_id: UUID, *, actor: Actor = VENDOR, key: str | None = None
    ) -> CommandResult:
        command = line_commands.RemoveLocation(
            line_id=line_id, location_id=location_id, actor=actor
        )
        return self.bus.execute(command, key)

    def set_line_autopay(
        self,
        line_id: UUID,
        source: PaymentSource | None,
        *,
        actor: Actor = VENDOR,
        key: str | None = None,
    ) -> CommandResult:
        command = line_commands.SetLineAutopay(line_id=line_id, source=source, actor=actor)
        return self.bus.execute(command, key)

    def attach_line_card(
        self,
        line_id: UUID,
        card: CardDetails,
        outstanding: Outstanding | None = None,
        *,
        actor: Actor = VENDOR,
        key: str | None = None,
    ) -> CommandResult:
        """Put a new card on a client-paid line; with payments pending, charge or mark (R-H5).

        Decided before the processor is asked to tokenise the card: another partner's line is
        not found, and a key first used for another command or another card is refused (R-X5).
        The answer shows the card kept (brand, last 4, expiry) and the charges made to it.
        """
        key = key_or_fresh(key)
        subscription = self.bus.line(line_id)
        if not actor.may_act_for(subscription.partner_id):
            raise LineNotFound.of(line_id)
        command = line_cards.AttachLineCard(
            line_id=line_id,
            requested=MethodSummary.requested(card),
            outstanding=outstanding,
            actor=actor,
        )
        if (first := self.bus.first_answer(command, key)) is not None:
            if "card" not in first.data:  # answered before the card was in the answer
                first = result_including(first, card=line_cards.card_data(command.requested))
            # The charge ran under a key of its own: its first answer is the replay's.
            return result_including_charges(first, self.charging.replayed_charges(key))
        account = self.bus.partner_account(subscription.partner_id)
        token = self.charging.tokenise(card, account.today(self.charging.now_for(account)))
        if not isinstance(token, CardToken):  # pragma: no cover - a card tokenises to a card
            raise InvalidValue("A line's card must be a card.", field="card")
        result = self.bus.execute(replace(command, card=token), key)
        charged = self.charging.charge_together(
            account,
            result.data.get("to_charge", []),
            token,
            line_id,
            f"{key}/charge",
        )
        return result_including_charges(result, charged)

    def record_lead(
        self,
        line_id: UUID,
        lead_id: UUID,
        delivered_at: datetime,
        price: Money | None = None,
        *,
        actor: Actor = VENDOR,
        key: str | None = None,
    ) -> CommandResult:
        """A delivered lead (R-L1); at $200 unbilled it is invoiced and charged at once (R-L2)."""
        command = line_leads.RecordLead(
            line_id=line_id, lead_id=lead_id, delivered_at=delivered_at, price=price, actor=actor
        )
        return self._billing_command(command, key or f"lead/{lead_id}")

    def request_transfer(
        self,
        line_id: UUID,
        request: TransferRequest,
        consents: tuple[TransferParty, ...] = (),
        *,
        actor: Actor = VENDOR,
        key: str | None = None,
    ) -> CommandResult:
        command = line_transfers.RequestTransfer(
            line_id=line_id, request=request, consents=consents, actor=actor
        )
        return self.bus.execute(command, key)

    def give_consent(
        self,
        line_id: UUID,
        party: TransferParty,
        *,
        actor: Actor = VENDOR,
        key: str | None = None,
    ) -> CommandResult:
        command = line_transfers.GiveConsent(line_id=line_id, party=party, actor=actor)
        return self.bus.execute(command, key)

    async def submit_billing_command(self, command: Command, key: str) -> CommandResult:
        """Run a command that may issue an invoice (an activation, a renewal, a lead at the
        threshold) without holding a thread while it is written; an invoice autopay pays by
        card or debit is then charged at once, in a thread: the processor's answer is blocking
        I/O (R-C6)."""
        result = await self.bus.submit(command, key)
        if "invoice_id" not in result.data:  # nothing issued, nothing to charge: no thread
            return result
        return await asyncio.to_thread(self.charging.charge_after_issue, result, key)

    def _billing_command(self, command: Command, key: str) -> CommandResult:
        """Run a command that may issue an invoice, and charge it if autopay pays it (R-C6)."""
        return self.charging.charge_after_issue(self.bus.execute(command, key), key)
