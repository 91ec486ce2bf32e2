"""The ledger's commands on subscription lines: create, send, accept, activate, renew, cancel,
locations, autopay, a client's card, leads and transfers (R-C1, R-H1, R-H5, R-L1, R-E1).

A mixin of `Ledger` (ledger/application.py): each method builds one command and runs it;
what autopay charges after an invoice is issued is `Charging`'s.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from domain.calendar import Anchor, Term
from domain.errors import InvalidValue
from domain.money import Money
from domain.payment_methods import CardDetails, CardToken, PaymentSource
from domain.subscription_line import TransferParty, TransferRequest
from domain.values import Location, Payer
from ledger.charging import Charging
from ledger.clock import Clock
from ledger.command_bus import CommandBus, derived_id, key_or_fresh, result_including_charges
from ledger.commands import lines as line_commands
from ledger.commands.lines import Outstanding
from ledger.writer import CommandResult


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
            ),
            key,
        )

    def send_line(self, line_id: UUID, *, key: str | None = None) -> CommandResult:
        return self.bus.execute(line_commands.SendLine(line_id=line_id), key)

    def accept_line(self, line_id: UUID, *, key: str | None = None) -> CommandResult:
        return self.bus.execute(line_commands.AcceptLine(line_id=line_id), key)

    def activate_line(
        self, line_id: UUID, start_on: date | None = None, *, key: str | None = None
    ) -> CommandResult:
        """Start a line and bill its first period; autopay by card or debit follows at once."""
        key = key_or_fresh(key)
        result = self.bus.execute(
            line_commands.ActivateLine(line_id=line_id, start_on=start_on), key
        )
        return self.charging.charge_after_issue(result, key)

    def renew_line(
        self, line_id: UUID, period_start: date, *, key: str | None = None
    ) -> CommandResult:
        """Renew a line for the period it names (its next); each period is renewed once."""
        key = key_or_fresh(key)
        result = self.bus.execute(
            line_commands.RenewLine(line_id=line_id, period_start=period_start), key
        )
        return self.charging.charge_after_issue(result, key)

    def cancel_line(self, line_id: UUID, reason: str, *, key: str | None = None) -> CommandResult:
        return self.bus.execute(line_commands.CancelLine(line_id=line_id, reason=reason), key)

    def pause_line(self, line_id: UUID, reason: str, *, key: str | None = None) -> CommandResult:
        return self.bus.execute(line_commands.PauseLine(line_id=line_id, reason=reason), key)

    def resume_line(self, line_id: UUID, *, key: str | None = None) -> CommandResult:
        return self.bus.execute(line_commands.ResumeLine(line_id=line_id), key)

    def add_location(
        self, line_id: UUID, location: Location, *, key: str | None = None
    ) -> CommandResult:
        return self.bus.execute(line_commands.AddLocation(line_id=line_id, location=location), key)

    def remove_location(
        self, line_id: UUID, location_id: UUID, *, key: str | None = None
    ) -> CommandResult:
        return self.bus.execute(
            line_commands.RemoveLocation(line_id=line_id, location_id=location_id), key
        )

    def set_line_autopay(
        self, line_id: UUID, source: PaymentSource | None, *, key: str | None = None
    ) -> CommandResult:
        return self.bus.execute(line_commands.SetLineAutopay(line_id=line_id, source=source), key)

    def attach_line_card(
        self,
        line_id: UUID,
        card: CardDetails,
        outstanding: Outstanding | None = None,
        *,
        key: str | None = None,
    ) -> CommandResult:
        """Put a new card on a client-paid line; with payments pending, charge or mark (R-H5)."""
        key = key_or_fresh(key)
        if (first := self.bus.replayed(key)) is not None:
            # The charge ran under a key of its own: its first answer is the replay's.
            return result_including_charges(first, self.charging.replayed_charges(key))
        subscription = self.bus.line(line_id)
        account = self.bus.partner_account(subscription.partner_id)
        token = self.charging.tokenise(card, account.today(self.clock.now()))
        if not isinstance(token, CardToken):  # pragma: no cover - a card tokenises to a card
            raise InvalidValue("A line's card must be a card.", field="card")
        result = self.bus.execute(
            line_commands.AttachLineCard(line_id=line_id, card=token, outstanding=outstanding), key
        )
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
        key: str | None = None,
    ) -> CommandResult:
        """A delivered lead (R-L1); at $200 unbilled it is invoiced and charged at once (R-L2)."""
        key = key or f"lead/{lead_id}"
        result = self.bus.execute(
            line_commands.RecordLead(
                line_id=line_id, lead_id=lead_id, delivered_at=delivered_at, price=price
            ),
            key,
        )
        return self.charging.charge_after_issue(result, key)

    def request_transfer(
        self,
        line_id: UUID,
        request: TransferRequest,
        consents: tuple[TransferParty, ...] = (),
        *,
        key: str | None = None,
    ) -> CommandResult:
        return self.bus.execute(
            line_commands.RequestTransfer(line_id=line_id, request=request, consents=consents),
            key,
        )

    def give_consent(
        self, line_id: UUID, party: TransferParty, *, key: str | None = None
    ) -> CommandResult:
        return self.bus.execute(line_commands.GiveConsent(line_id=line_id, party=party), key)
