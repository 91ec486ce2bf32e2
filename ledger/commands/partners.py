"""Commands on partner accounts: opening, profile, payment methods, clients, balance, budget."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from domain.bonus_wallet import CreditReason
from domain.calendar import Anchor
from domain.errors import TestClockNotFound
from domain.money import Money
from domain.partner_account import PartnerAccount, PaymentMethod
from domain.payment_methods import MethodSummary, PaymentSource
from domain.subscription_line import LineStatus
from domain.test_clock import TestClock
from domain.values import Address, Payer
from ledger import fingerprints
from ledger.commands.base import LedgerCommand, invoice, line, owned_partner, today, wallet
from ledger.commands.lines import Outstanding, settle_outstanding
from ledger.errors import VendorOnly
from ledger.unit_of_work import UnitOfWork

Answer = tuple[UUID | None, dict[str, Any]]


@dataclass(frozen=True, kw_only=True)
class OpenPartnerAccount(LedgerCommand):
    """Open an account for a partner who will pay for its clients."""

    partner_id: UUID
    name: str
    currency: str
    time_zone: str
    anchor: Anchor = Anchor.ANNIVERSARY
    test_clock_id: UUID | None = field(default=None, repr=False)
    """The test clock the partner lives on (issue 15): opened at the clock's instant. Out of
    the repr, whose digest a key recorded before canonical fingerprints is compared with
    (ledger/fingerprints.py `legacy_fingerprint`); in the fingerprint when set."""

    def handle(self, uow: UnitOfWork) -> Answer:
        if self.test_clock_id is not None:
            clock = uow.get(TestClock, self.test_clock_id)
            if clock is None:
                raise TestClockNotFound.of(self.test_clock_id)
            clock.require_open()
            uow.fix_now(clock.frozen_at)
        account = PartnerAccount.open(
            partner_id=self.partner_id,
            name=self.name,
            currency=self.currency,
            time_zone=self.time_zone,
            anchor=self.anchor,
            now=uow.now,
        )
        if self.test_clock_id is not None:
            account.join_test_clock(self.test_clock_id, uow.now)
        uow.add(account)
        return account.id, {}


@dataclass(frozen=True, kw_only=True)
class RecordBillingProfile(LedgerCommand):
    """Who invoices go to, where, with which tax id, and to which e-mail (R-O1, issue 17)."""

    partner_id: UUID
    entity: str
    address: Address
    billing_email: str
    tax_id: str | None = None
    """Printed as the customer's on invoices and closing documents; None: the partner has none
    to print (a default, so fingerprints recorded before it are unchanged)."""

    def handle(self, uow: UnitOfWork) -> Answer:
        owned_partner(uow, self.partner_id, self.actor).record_billing_profile(
            self.entity, self.address, self.billing_email, uow.now, self.tax_id
        )
        return self.partner_id, {}


@dataclass(frozen=True, kw_only=True)
class AddPaymentMethod(LedgerCommand):
    """Keep a tokenised card or bank account (R-O1, R-O6, R-X4).

    The request is what the person typed as it may be kept (`summary`: brand, last 4 and
    expiry; routing number and last 4): a retry under the same key names the same summary,
    another card does not. The processor's token is its answer, left out of the fingerprint.
    """

    partner_id: UUID
    method_id: UUID
    summary: MethodSummary
    make_default: bool = False
    method: PaymentMethod | None = field(default=None, metadata=fingerprints.NOT_FINGERPRINTED)
    """The processor's token of the method (set once it has answered)."""

    def handle(self, uow: UnitOfWork) -> Answer:
        kept = tokenised(self.method)
        owned_partner(uow, self.partner_id, self.actor).add_payment_method(
            self.method_id, kept, self.make_default, uow.now
        )
        return self.partner_id, kept_method_data(self.method_id, kept)


@dataclass(frozen=True, kw_only=True)
class ReplacePaymentMethod(LedgerCommand):
    """The partner updates a payment method; the billing date stays (R-O6, R-H5).

    With payments outstanding, MARK_PAID marks them all paid here, in the same transaction;
    CHARGE_ALL answers which to charge to the new method, which the ledger then does in one
    charge of their total (R-L5). The request is identified as `AddPaymentMethod`'s is.
    """

    partner_id: UUID
    old_method_id: UUID
    method_id: UUID
    summary: MethodSummary
    outstanding: Outstanding = Outstanding.CHARGE_ALL
    method: PaymentMethod | None = field(default=None, metadata=fingerprints.NOT_FINGERPRINTED)
    """The processor's token of the new method (set once it has answered)."""
    invoice_ids: tuple[UUID, ...] = field(default=(), metadata=fingerprints.NOT_FINGERPRINTED)
    """The partner's failed or overdue invoices (from the open-invoice index), checked again
    here under the lock; not the request, so not in the fingerprint."""

    def handle(self, uow: UnitOfWork) -> Answer:
        kept = tokenised(self.method)
        account = owned_partner(uow, self.partner_id, self.actor)
        account.replace_payment_method(self.old_method_id, self.method_id, kept, uow.now)
        day = today(uow, account)
        pending = [
            owed
            for invoice_id in self.invoice_ids
            if (owed := invoice(uow, invoice_id)).partner_id == account.id
            and owed.payer is Payer.PARTNER
            and owed.is_outstanding
        ]
        to_charge = settle_outstanding(uow, account, pending, self.outstanding, day)
        return self.partner_id, {
            **kept_method_data(self.method_id, kept),
            "outstanding": [str(owed.id) for owed in pending],
            "to_charge": to_charge,
        }


def tokenised(method: PaymentMethod | None) -> PaymentMethod:
    """The processor's token a payment method command carries once the processor answered."""
    if method is None:
        raise ValueError("a payment method command is written with the processor's token")
    return method


def kept_method_data(method_id: UUID, method: PaymentMethod) -> dict[str, Any]:
    """What a payment method command answers: the method's id and what may be shown of it
    (R-X4), so that a replay answers it from the command log."""
    return {"method_id": str(method_id), "method": MethodSummary.of(method).as_data()}


@dataclass(frozen=True, kw_only=True)
class MakeDefaultPaymentMethod(LedgerCommand):
    """Payments use this method unless told otherwise (R-O6)."""

    partner_id: UUID
    method_id: UUID

    def handle(self, uow: UnitOfWork) -> Answer:
        owned_partner(uow, self.partner_id, self.actor).make_default_payment_method(
            self.method_id, uow.now
        )
        return self.partner_id, {}


@dataclass(frozen=True, kw_only=True)
class RecordTopUp(LedgerCommand):
    """Money arrived for the company balance (R-C2): by card once charged, or by bank."""

    partner_id: UUID
    top_up_id: UUID
    amount: Money
    source: PaymentSource
    reference: str | None = None
    """A bank transfer's reference, as the vendor read it."""
    method_id: UUID | None = None
    """The card asked for (None: the default method)."""
    charge_id: str | None = field(default=None, metadata=fingerprints.NOT_FINGERPRINTED)
    """The processor's charge of a card top-up: its answer, kept as the top-up's reference."""

    def handle(self, uow: UnitOfWork) -> Answer:
        account = owned_partner(uow, self.partner_id, self.actor)
        if self.source.is_confirmed_by_vendor and self.actor.partner_id is not None:
            raise VendorOnly(
                f"A partner announces a {self.source.value} top-up "
                "(POST …/top-up-announcements); the vendor confirms it arrived."
            )
        reference = self.charge_id if self.charge_id is not None else self.reference
        account.top_up(self.top_up_id, self.amount, self.source, uow.now, reference)
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
        account = owned_partner(uow, self.partner_id, self.actor)
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
        account = owned_partner(uow, self.partner_id, self.actor)
        account.announce_top_up(self.top_up_id, self.amount, self.reference, uow.now)
        return self.partner_id, {
            "top_up_id": str(self.top_up_id),
            "balance_minor": account.balance.amount_minor,
            "announced_minor": account.announced_total.amount_minor,
            "currency": account.currency,
        }


@dataclass(frozen=True, kw_only=True)
class ConfirmTopUp(LedgerCommand):
    """The vendor received an announced transfer: it is on the company balance now (R-C2)."""

    partner_id: UUID
    top_up_id: UUID

    def handle(self, uow: UnitOfWork) -> Answer:
        account = owned_partner(uow, self.partner_id, self.actor)
        account.confirm_top_up(self.top_up_id, uow.now)
        return self.partner_id, {
            "top_up_id": str(self.top_up_id),
            "balance_minor": account.balance.amount_minor,
            "announced_minor": account.announced_total.amount_minor,
            "currency": account.currency,
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
        owned_partner(uow, self.partner_id, self.actor).register_client(
            self.client_id, self.name, self.email, self.unified_billing, uow.now
        )
        return self.client_id, {}


@dataclass(frozen=True, kw_only=True)
class RemoveClientFromUnifiedBilling(LedgerCommand):
    """The partner stops paying for a client: its lines bill the client from now on (R-O4)."""

    partner_id: UUID
    client_id: UUID
    line_ids: tuple[UUID, ...] = field(default=(), metadata=fingerprints.NOT_FINGERPRINTED)
    """The client's lines in unified billing (from the line index). Read when the command is
    built, so not the request's: sent again after they left, it names none (R-X5)."""

    def handle(self, uow: UnitOfWork) -> Answer:
        account = owned_partner(uow, self.partner_id, self.actor)
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
        account = owned_partner(uow, self.partner_id, self.actor)
        account.set_budget(self.amount, uow.now)
        return self.partner_id, {"status": account.status.value}


@dataclass(frozen=True, kw_only=True)
class SetAccountAutopay(LedgerCommand):
    """New invoices are paid automatically from this source, or not when None (R-C6)."""

    partner_id: UUID
    source: PaymentSource | None

    def handle(self, uow: UnitOfWork) -> Answer:
        owned_partner(uow, self.partner_id, self.actor).set_autopay(self.source, uow.now)
        return self.partner_id, {}


@dataclass(frozen=True, kw_only=True)
class CloseAccount(LedgerCommand):
    """Close a partner account; its history stays."""

    partner_id: UUID
    reason: str

    def handle(self, uow: UnitOfWork) -> Answer:
        owned_partner(uow, self.partner_id, self.actor).close(self.reason, uow.now)
        return self.partner_id, {}
