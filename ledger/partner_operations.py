"""The ledger's commands on partner accounts: profile, payment methods, top-ups, clients,
budget, bonuses, autopay (R-O1, R-O4, R-O6, R-C2, R-C5, R-C6, R-L3).

A mixin of `Ledger` (ledger/application.py): each method builds one command and runs it; the
work with the payment processor is `Charging`'s.
"""

from __future__ import annotations

from dataclasses import replace
from uuid import UUID

from domain.bonus_wallet import CreditReason
from domain.calendar import Anchor
from domain.errors import InvalidValue
from domain.money import Money
from domain.payment_methods import (
    BankAccountDetails,
    CardDetails,
    MethodSummary,
    PaymentSource,
)
from domain.values import VENDOR, Actor, Address
from ledger import queries
from ledger.availability import CheckedPool
from ledger.charging import Charging, recorded_top_up, top_up_by_card
from ledger.clock import Clock
from ledger.command_bus import (
    CommandBus,
    derived_id,
    key_or_fresh,
    result_including,
    result_including_charges,
)
from ledger.command_records import CommandResult
from ledger.commands import partners as partner_commands
from ledger.commands.lines import Outstanding


class PartnerOperations:
    """Commands on a partner account."""

    bus: CommandBus
    charging: Charging
    clock: Clock
    reads: CheckedPool

    def open_partner_account(
        self,
        *,
        name: str,
        currency: str,
        time_zone: str,
        anchor: Anchor = Anchor.ANNIVERSARY,
        partner_id: UUID | None = None,
        key: str | None = None,
        test_clock_id: UUID | None = None,
    ) -> CommandResult:
        command = partner_commands.OpenPartnerAccount(
            partner_id=partner_id or derived_id(key),
            name=name,
            currency=currency,
            time_zone=time_zone,
            anchor=anchor,
            test_clock_id=test_clock_id,
        )
        return self.bus.execute(command, key)

    def record_billing_profile(
        self,
        partner_id: UUID,
        entity: str,
        address: Address,
        billing_email: str,
        *,
        tax_id: str | None = None,
        key: str | None = None,
        actor: Actor = VENDOR,
    ) -> CommandResult:
        return self.bus.execute(
            partner_commands.RecordBillingProfile(
                partner_id=partner_id,
                entity=entity,
                address=address,
                billing_email=billing_email,
                tax_id=tax_id,
                actor=actor,
            ),
            key,
        )

    def add_payment_method(
        self,
        partner_id: UUID,
        details: CardDetails | BankAccountDetails,
        *,
        make_default: bool = False,
        key: str | None = None,
        actor: Actor = VENDOR,
    ) -> CommandResult:
        """Validate raw card or bank data, tokenise it at the gateway, keep the token (R-X4).

        Before the processor is asked: another partner's account is not found, and a key used
        before answers its first answer if it asked for the same method, or is refused with
        `idempotency_key_reused` if it asked for another (R-X5)."""
        key = key_or_fresh(key)
        account = self.bus.owned_partner_account(partner_id, actor)
        summary = MethodSummary.requested(details)
        command = partner_commands.AddPaymentMethod(
            partner_id=partner_id,
            method_id=derived_id(key),
            summary=summary,
            make_default=make_default,
            actor=actor,
        )
        if (first := self.bus.first_answer(command, key)) is not None:
            return showing_method(first, summary)
        token = self.charging.tokenise(details, account.today(self.charging.now_for(account)))
        return self.bus.execute(replace(command, method=token), key)

    def replace_payment_method(
        self,
        partner_id: UUID,
        old_method_id: UUID,
        details: CardDetails | BankAccountDetails,
        outstanding: Outstanding = Outstanding.CHARGE_ALL,
        *,
        key: str | None = None,
        actor: Actor = VENDOR,
    ) -> CommandResult:
        """Update a payment method; the billing date stays. What is failed or overdue is
        charged to the new one at once, in one charge of its total (R-L5), or marked paid in
        the same transaction as the replacement (R-H5). Ownership and a reused key are refused
        before the processor is asked, as in `add_payment_method`."""
        key = key_or_fresh(key)
        account = self.bus.owned_partner_account(partner_id, actor)
        summary = MethodSummary.requested(details)
        command = partner_commands.ReplacePaymentMethod(
            partner_id=partner_id,
            old_method_id=old_method_id,
            method_id=derived_id(key),
            summary=summary,
            outstanding=outstanding,
            actor=actor,
        )
        if (first := self.bus.first_answer(command, key)) is not None:
            replayed = showing_method(first, summary)
            return result_including_charges(replayed, self.charging.replayed_charges(key))
        token = self.charging.tokenise(details, account.today(self.charging.now_for(account)))
        with self.reads.connection() as conn:
            invoice_ids = tuple(queries.outstanding_invoice_ids(conn, partner_id))
        result = self.bus.execute(replace(command, method=token, invoice_ids=invoice_ids), key)
        charged = self.charging.charge_together(
            account, result.data.get("to_charge", []), token, None, f"{key}/charge"
        )
        return result_including_charges(result, charged)

    def make_default_payment_method(
        self, partner_id: UUID, method_id: UUID, *, key: str | None = None, actor: Actor = VENDOR
    ) -> CommandResult:
        command = partner_commands.MakeDefaultPaymentMethod(
            partner_id=partner_id, method_id=method_id, actor=actor
        )
        return self.bus.execute(command, key)

    def top_up(
        self,
        partner_id: UUID,
        amount: Money,
        source: PaymentSource,
        *,
        method_id: UUID | None = None,
        reference: str | None = None,
        key: str | None = None,
        actor: Actor = VENDOR,
    ) -> CommandResult:
        """Put money on the company balance (R-C2): charged to a card now, or received by
        bank as the vendor records it (a partner announces a transfer: `announce_top_up`)."""
        key = key_or_fresh(key)
        if source is PaymentSource.CARD:
            return top_up_by_card(self.charging, partner_id, amount, method_id, key, actor)
        if source is not PaymentSource.BANK_TRANSFER:
            raise InvalidValue("Top up by card or by bank transfer.", field="source")
        command = recorded_top_up(partner_id, amount, source, key, reference=reference, actor=actor)
        return self.bus.execute(command, key)

    def announce_top_up(
        self,
        partner_id: UUID,
        amount: Money,
        reference: str,
        *,
        key: str | None = None,
        actor: Actor = VENDOR,
    ) -> CommandResult:
        """The partner says it sent a bank transfer for its balance: kept apart (R-C2)."""
        command = partner_commands.AnnounceTopUp(
            partner_id=partner_id,
            top_up_id=derived_id(key),
            amount=amount,
            reference=reference,
            actor=actor,
        )
        return self.bus.execute(command, key)

    def confirm_top_up(
        self, partner_id: UUID, top_up_id: UUID, *, key: str | None = None, actor: Actor = VENDOR
    ) -> CommandResult:
        """The vendor received an announced transfer: it is on the balance now (R-C2)."""
        command = partner_commands.ConfirmTopUp(
            partner_id=partner_id, top_up_id=top_up_id, actor=actor
        )
        return self.bus.execute(command, key)

    def register_client(
        self,
        partner_id: UUID,
        *,
        name: str,
        email: str | None = None,
        unified_billing: bool = True,
        client_id: UUID | None = None,
        key: str | None = None,
        actor: Actor = VENDOR,
    ) -> CommandResult:
        return self.bus.execute(
            partner_commands.RegisterClient(
                partner_id=partner_id,
                client_id=client_id or derived_id(key),
                name=name,
                email=email,
                unified_billing=unified_billing,
                actor=actor,
            ),
            key,
        )

    def remove_client_from_unified_billing(
        self, partner_id: UUID, client_id: UUID, *, key: str | None = None, actor: Actor = VENDOR
    ) -> CommandResult:
        """The partner stops paying for a client's lines (R-O4)."""
        return self.bus.execute(self.unified_billing_removal(partner_id, client_id, actor), key)

    def unified_billing_removal(
        self, partner_id: UUID, client_id: UUID, actor: Actor = VENDOR
    ) -> partner_commands.RemoveClientFromUnifiedBilling:
        """The command that takes a client out of unified billing, naming its lines in it (from
        the line index; the command checks each again)."""
        with self.reads.connection() as conn:
            line_ids = queries.unified_billing_line_ids(conn, partner_id, client_id)
        return partner_commands.RemoveClientFromUnifiedBilling(
            partner_id=partner_id, client_id=client_id, line_ids=line_ids, actor=actor
        )

    def set_budget(
        self,
        partner_id: UUID,
        amount: Money | None,
        *,
        key: str | None = None,
        actor: Actor = VENDOR,
    ) -> CommandResult:
        command = partner_commands.SetBudget(partner_id=partner_id, amount=amount, actor=actor)
        return self.bus.execute(command, key)

    def grant_bonus(
        self,
        partner_id: UUID,
        amount: Money,
        reason: CreditReason,
        note: str,
        *,
        key: str | None = None,
        actor: Actor = VENDOR,
    ) -> CommandResult:
        """The vendor's promotion or goodwill credit to a partner's bonus wallet (R-C5)."""
        key = key_or_fresh(key)
        command = partner_commands.GrantBonus(
            partner_id=partner_id,
            credit_id=derived_id(key),
            amount=amount,
            reason=reason,
            note=note,
            actor=actor,
        )
        return self.bus.execute(command, key)

    def set_account_autopay(
        self,
        partner_id: UUID,
        source: PaymentSource | None,
        *,
        key: str | None = None,
        actor: Actor = VENDOR,
    ) -> CommandResult:
        command = partner_commands.SetAccountAutopay(
            partner_id=partner_id, source=source, actor=actor
        )
        return self.bus.execute(command, key)


def showing_method(first: CommandResult, summary: MethodSummary) -> CommandResult:
    """A payment method command's first answer, showing the method it kept. Answers recorded
    before answers showed it were replayed by key alone; they show what the retry named."""
    if "method" in first.data:
        return first
    return result_including(first, method=summary.as_data())
