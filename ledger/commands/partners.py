"""Commands on partner accounts: opening, profile, payment methods, clients, balance, budget."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

from domain.bonus_wallet import CreditReason
from domain.calendar import Anchor
from domain.money import Money
from domain.partner_account import PartnerAccount, PaymentMethod
from domain.payment_methods import PaymentSource
from domain.subscription_line import LineStatus
from domain.values import Address, Payer
from ledger.billing import after_payment
from ledger.commands.base import LedgerCommand, invoice, line, partner, today, wallet
from ledger.commands.lines import Outstanding
from ledger.writer import UnitOfWork

Answer = tuple[UUID | None, dict[str, Any]]


@dataclass(frozen=True, kw_only=True)
class OpenPartnerAccount(LedgerCommand):
    """Open an account for a partner who will pay for its clients."""

    partner_id: UUID
    name: str
    currency: str
    time_zone: str
    anchor: Anchor = Anchor.ANNIVERSARY

    def handle(self, uow: UnitOfWork) -> Answer:
        account = PartnerAccount.open(
            partner_id=self.partner_id,
            name=self.name,
            currency=self.currency,
            time_zone=self.time_zone,
            anchor=self.anchor,
            now=uow.now,
        )
        uow.add(account)
        return account.id, {}


@dataclass(frozen=True, kw_only=True)
class RecordBillingProfile(LedgerCommand):
    """Who invoices go to, where, and to which e-mail (R-O1)."""

    partner_id: UUID
    entity: str
    address: Address
    billing_email: str

    def handle(self, uow: UnitOfWork) -> Answer:
        partner(uow, self.partner_id).record_billing_profile(
            self.entity, self.address, self.billing_email, uow.now
        )
        return self.partner_id, {}


@dataclass(frozen=True, kw_only=True)
class AddPaymentMethod(LedgerCommand):
    """Keep a tokenised card or bank account (R-O1, R-O6, R-X4)."""

    partner_id: UUID
    method_id: UUID
    method: PaymentMethod
    make_default: bool = False

    def handle(self, uow: UnitOfWork) -> Answer:
        partner(uow, self.partner_id).add_payment_method(
            self.method_id, self.method, self.make_default, uow.now
        )
        return self.partner_id, {"method_id": str(self.method_id)}


@dataclass(frozen=True, kw_only=True)
class ReplacePaymentMethod(LedgerCommand):
    """The partner updates a payment method; the billing date stays (R-O6, R-H5).

    With payments outstanding, MARK_PAID marks them all paid here, in the same transaction;
    CHARGE_ALL answers which to charge to the new method, which the ledger then does in one
    charge of their total (R-L5).
    """

    partner_id: UUID
    old_method_id: UUID
    method_id: UUID
    method: PaymentMethod
    outstanding: Outstanding = Outstanding.CHARGE_ALL
    invoice_ids: tuple[UUID, ...] = ()
    """The partner's failed or overdue invoices (from the open-invoice index), checked again
    here under the lock."""

    def handle(self, uow: UnitOfWork) -> Answer:
        account = partner(uow, self.partner_id)
        account.replace_payment_method(self.old_method_id, self.method_id, self.method, uow.now)
        day = today(uow, account)
        pending = [
            found
            for invoice_id in self.invoice_ids
            if (found := invoice(uow, invoice_id)).partner_id == account.id
            and found.payer is Payer.PARTNER
            and found.is_outstanding
        ]
        to_charge: list[str] = []
        if self.outstanding is Outstanding.MARK_PAID:
            for owed in pending:
                payment_id = uuid4()
                owed.mark_paid(payment_id, day, uow.now)
                after_payment(uow, account, owed, payment_id, day)
        else:
            to_charge = [str(owed.id) for owed in pending]
        return self.partner_id, {
            "method_id": str(self.method_id),
            "outstanding": [str(owed.id) for owed in pending],
            "to_charge": to_charge,
        }


@dataclass(frozen=True, kw_only=True)
class MakeDefaultPaymentMethod(LedgerCommand):
    """Payments use this method unless told otherwise (R-O6)."""

    partner_id: UUID
    method_id: UUID

    def handle(self, uow: UnitOfWork) -> Answer:
        partner(uow, self.partner_id).make_default_payment_method(self.method_id, uow.now)
        return self.partner_id, {}


@dataclass(frozen=True, kw_only=True)
class RecordTopUp(LedgerCommand):
    """Money arrived for the company balance (R-C2): by card once charged, or by bank."""

    partner_id: UUID
    top_up_id: UUID
    amount: Money
    source: PaymentSource
    reference: str | None = None

    def handle(self, uow: UnitOfWork) -> Answer:
        account = partner(uow, self.partner_id)
        account.top_up(self.top_up_id, self.amount, self.source, uow.now, self.reference)
        return self.partner_id, {
            "top_up_id": str(self.top_up_id),
            "balance_minor": account.balance.amount_minor,
        }


@dataclass(frozen=True, kw_only=True)
class GrantBonus(LedgerCommand):
    """The vendor credits a partner's bonus wallet: a promotion or goodwill, saying why; the
    bonuses are the partner's to spend on any line (R-C5)."""

    partner_id: UUID
    credit_id: UUID
    amount: Money
    reason: CreditReason
    note: str

    def handle(self, uow: UnitOfWork) -> Answer:
        account = partner(uow, self.partner_id)
        bonuses = wallet(uow, account)
        bonuses.grant(
            credit_id=self.credit_id,
            amount=self.amount,
            reason=self.reason,
            note=self.note,
            on=today(uow, account),
            now=uow.now,
        )
        return self.partner_id, {
            "credit_id": str(self.credit_id),
            "balance_minor": bonuses.balance.amount_minor,
        }


@dataclass(frozen=True, kw_only=True)
class AnnounceTopUp(LedgerCommand):
    """The partner says it sent a bank transfer for its balance; kept apart until the vendor
    confirms it arrived (R-C2)."""

    partner_id: UUID
    top_up_id: UUID
    amount: Money
    reference: str

    def handle(self, uow: UnitOfWork) -> Answer:
        account = partner(uow, self.partner_id)
        account.announce_top_up(self.top_up_id, self.amount, self.reference, uow.now)
        return self.partner_id, {
            "top_up_id": str(self.top_up_id),
            "balance_minor": account.balance.amount_minor,
            "announced_minor": account.announced_total.amount_minor,
        }


@dataclass(frozen=True, kw_only=True)
class ConfirmTopUp(LedgerCommand):
    """The vendor received an announced transfer: it is on the company balance now (R-C2)."""

    partner_id: UUID
    top_up_id: UUID

    def handle(self, uow: UnitOfWork) -> Answer:
        account = partner(uow, self.partner_id)
        account.confirm_top_up(self.top_up_id, uow.now)
        return self.partner_id, {
            "top_up_id": str(self.top_up_id),
            "balance_minor": account.balance.amount_minor,
            "announced_minor": account.announced_total.amount_minor,
        }


@dataclass(frozen=True, kw_only=True)
class RegisterClient(LedgerCommand):
    """A partner's client, in unified billing or paying for itself (R-O4, R-C4)."""

    partner_id: UUID
    client_id: UUID
    name: str
    email: str | None = None
    unified_billing: bool = True

    def handle(self, uow: UnitOfWork) -> Answer:
        partner(uow, self.partner_id).register_client(
            self.client_id, self.name, self.email, self.unified_billing, uow.now
        )
        return self.client_id, {}


@dataclass(frozen=True, kw_only=True)
class RemoveClientFromUnifiedBilling(LedgerCommand):
    """The partner stops paying for a client: its lines bill the client from now on (R-O4)."""

    partner_id: UUID
    client_id: UUID
    line_ids: tuple[UUID, ...]
    """The client's lines in unified billing (from the line index)."""

    def handle(self, uow: UnitOfWork) -> Answer:
        account = partner(uow, self.partner_id)
        account.remove_client_from_unified_billing(self.client_id, uow.now)
        for line_id in self.line_ids:
            subscription = line(uow, line_id)
            if (
                subscription.client_id == self.client_id
                and subscription.partner_id == account.id
                and subscription.status is not LineStatus.CANCELLED
            ):
                subscription.remove_from_unified_billing(uow.now)
        return self.client_id, {}


@dataclass(frozen=True, kw_only=True)
class SetBudget(LedgerCommand):
    """A monthly budget for leads, reset on the signup day; None removes it (R-L3)."""

    partner_id: UUID
    amount: Money | None

    def handle(self, uow: UnitOfWork) -> Answer:
        account = partner(uow, self.partner_id)
        account.set_budget(self.amount, uow.now)
        return self.partner_id, {"status": account.status.value}


@dataclass(frozen=True, kw_only=True)
class SetAccountAutopay(LedgerCommand):
    """New invoices are paid automatically from this source, or not when None (R-C6)."""

    partner_id: UUID
    source: PaymentSource | None

    def handle(self, uow: UnitOfWork) -> Answer:
        partner(uow, self.partner_id).set_autopay(self.source, uow.now)
        return self.partner_id, {}


@dataclass(frozen=True, kw_only=True)
class CloseAccount(LedgerCommand):
    """Close a partner account; its history stays."""

    partner_id: UUID
    reason: str

    def handle(self, uow: UnitOfWork) -> Answer:
        partner(uow, self.partner_id).close(self.reason, uow.now)
        return self.partner_id, {}
