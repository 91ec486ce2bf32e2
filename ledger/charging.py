"""Charging cards and bank accounts for invoices, and giving money back when a charge's
command is refused.

The processor is asked before the command is written, under a key derived from the
command's, so a retry never charges twice (R-X5); a charge whose command is then refused (the
invoice moved on meanwhile) is refunded at once. A card's raw data stops at the gateway (R-X4).

Before the processor is called, a partner's charge or refund is checked to be on its own
invoice (another partner's is not found), and the key is asked whether it recorded this very
request (`CommandBus.first_answer`): a retry answers as the first try, and a key reused for
another request is refused before any money moves.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from uuid import UUID

from domain.billing_policy import POLICY_ID, PolicyHistory, policy_on
from domain.errors import BillingError, InvoiceNotFound, NoPaymentMethod, NothingOutstanding
from domain.invoice import Invoice, charge_shares
from domain.money import Money, total
from domain.partner_account import PartnerAccount, PaymentMethod, require_kind
from domain.payment_methods import BankAccountDetails, CardDetails, CardToken, PaymentSource
from domain.pricing import BillingPolicy
from domain.subscription_line import SubscriptionLine
from domain.test_clock import TestClock
from domain.time import zone
from domain.values import VENDOR, Actor, Payer
from ledger.clock import Clock
from ledger.command_bus import (
    ChargeOutcomes,
    CommandBus,
    derived_id,
    key_or_fresh,
    result_including,
)
from ledger.command_records import CommandResult
from ledger.commands import charges as charge_commands
from ledger.commands import partners as partner_commands
from ledger.commands.charges import RecordCharge
from ledger.commands.invoice_corrections import RecordRefund
from ledger.errors import IdempotencyKeyReused, PaymentDeclined
from ledger.payments.gateway import ChargeResult, ChargeStatus, PaymentGateway


class Charging:
    """Charges invoices through the payment processor and records what it answered."""

    def __init__(
        self, bus: CommandBus, gateway: PaymentGateway, clock: Clock, policy: BillingPolicy
    ) -> None:
        self.bus = bus
        self.gateway = gateway
        self.clock = clock
        self.base_policy = policy
        """Version 0 of the billing policy; the charge reads the version in force today."""

    def policy_on(self, day: date) -> BillingPolicy:
        """The version of the billing policy in force on a business date, read from the store
        (outside any command: a command reads it through its unit of work)."""
        return policy_on(self.bus.load(PolicyHistory, POLICY_ID), self.base_policy, day)

    def policy_today(self, account: PartnerAccount) -> BillingPolicy:
        """The billing policy in force on the partner's business date now: the card fee of a
        payment is the one on its date (R-O7); its command checks the same version."""
        return self.policy_on(account.today(self.now_for(account)))

    def now_for(self, account: PartnerAccount) -> datetime:
        """Now for this partner: its test clock's instant if it lives on one (issue 15), as
        its commands take it (ledger/unit_of_work.py), otherwise the ledger clock's."""
        if account.test_clock_id is not None:
            clock = self.bus.load(TestClock, account.test_clock_id)
            if clock is not None:
                return clock.frozen_at
        return self.clock.now()

    def payers_now(self, account: PartnerAccount) -> datetime:
        """Now, in the partner's time zone: what the processor is told, so that days it counts
        (an ACH debit's settlement) are the partner's business days (R-X7, R-E4)."""
        return self.now_for(account).astimezone(zone(account.time_zone))

    def tokenise(self, details: CardDetails | BankAccountDetails, today: date) -> PaymentMethod:
        """Validate raw card or bank data and swap it for the gateway's token (R-X4)."""
        if isinstance(details, CardDetails):
            return self.gateway.tokenize_card(details.validated(today))
        return self.gateway.tokenize_bank_account(details.validated())

    def charge_invoice(
        self,
        invoice_id: UUID,
        *,
        source: PaymentSource | None = None,
        method_id: UUID | None = None,
        key: str | None = None,
        actor: Actor = VENDOR,
    ) -> CommandResult:
        """Charge what an invoice owes to a card or bank account (and retry a failed one).

        The method is the one named, or the payer's default of the `source` asked for (R-C2);
        with none to charge, the request is refused with `no_payment_method` and nothing is
        written: no decline, no grace (R-H4, R-L4)."""
        key = key_or_fresh(key)
        invoice = owned(self.bus.invoice(invoice_id), actor)
        request = RecordCharge(
            invoice_id=invoice_id,
            payment_id=derived_id(key),
            method_id=method_id,
            requested_source=source,
            actor=actor,
        )
        if (first := self.bus.first_answer(request, key)) is not None:
            return first
        account = self.bus.partner_account(invoice.partner_id)
        method, line_id = self.paying_method(account, invoice, source, method_id)
        return self._charge(request, invoice, account, method, line_id, key)

    def charge_due_invoice(self, invoice_id: UUID, key: str) -> CommandResult:
        """The billing clock charges an invoice autopay pays (R-C6) on the day it is due.

        Unlike a manual charge, finding no method is not refused: the payment was due today
        and cannot be made, so it is recorded as failed with `no_payment_method`. The payer is
        told and sent the link to add a card (R-H4), the invoice shows as failed (R-H2, R-H3)
        and a partner's grace week starts (R-L4); otherwise the invoice would owe silently
        forever, as an invoice expected to be charged is never marked overdue."""
        if (first := self.bus.replayed(key)) is not None:
            return first
        invoice = self.bus.invoice(invoice_id)
        account = self.bus.partner_account(invoice.partner_id)
        expected = invoice.expected_source
        source = expected if expected is not None and expected.is_gateway else None
        try:
            method, line_id = self.paying_method(account, invoice, source, None)
        except NoPaymentMethod:
            return self._record_no_method(invoice, account, key)
        request = RecordCharge(invoice_id=invoice.id, payment_id=derived_id(key))
        return self._charge(request, invoice, account, method, line_id, key)

    def charge_after_issue(self, result: CommandResult, key: str) -> CommandResult:
        """An invoice a card or debit pays by autopay is charged straight after it is issued.

        A replayed command answers with the charge its first run made (R-X5); if the first
        run stopped before charging, the charge is made now."""
        invoice_id = result.data.get("invoice_id")
        if invoice_id is None:
            return result
        invoice = self.bus.load(Invoice, UUID(invoice_id))
        if result.replayed and invoice is not None:
            earlier = self.bus.replayed(f"clock/charge/{invoice.id}/{invoice.issued_on}")
            if earlier is not None:
                return result_including(result, earlier.position, charge=earlier.data)
        if (
            invoice is None
            or invoice.expected_source is None
            or not invoice.expected_source.is_gateway
            or invoice.payments
            or invoice.failed_attempts
            or invoice.pending
        ):
            return result
        try:
            charged = self.charge_due_invoice(
                invoice.id, f"clock/charge/{invoice.id}/{invoice.issued_on}"
            )
        except BillingError as refusal:
            return result_including(result, charge={"error": refusal.code})
        return result_including(result, charged.position, charge=charged.data)

    def paying_method(
        self,
        account: PartnerAccount,
        invoice: Invoice,
        source: PaymentSource | None,
        method_id: UUID | None,
    ) -> tuple[PaymentMethod, UUID | None]:
        """A client pays with the card on its line (R-H5); a partner with its own method of
        the kind asked for (R-C2)."""
        if invoice.payer is Payer.CLIENT and method_id is None:
            for line_id in invoice.line_ids:
                subscription = self.bus.load(SubscriptionLine, line_id)
                if subscription is not None and subscription.card is not None:
                    require_kind(subscription.card, source, None)
                    return subscription.card, line_id
            raise NoPaymentMethod("The client's line has no card.", source="card")
        return account.method_to_charge(source, method_id)[1], None

    def charge_together(
        self,
        account: PartnerAccount,
        invoice_ids: list[str],
        method: PaymentMethod,
        line_id: UUID | None,
        key: str,
    ) -> ChargeOutcomes:
        """Charge everything pending to a new card or bank account in one charge of the total,
        each invoice paid by its share, the card fee on the total (R-H5, R-L5, R-O7)."""
        owed = [self.bus.invoice(UUID(invoice_id)) for invoice_id in invoice_ids]
        amounts = charge_shares(owed, method.source, self.policy_today(account))
        shares = tuple(
            charge_commands.ChargeShare(
                invoice_id=invoice.id,
                payment_id=derived_id(f"{key}/{invoice.id}"),
                amount=amount,
                fee_line=fee_line,
            )
            for invoice, (amount, fee_line) in zip(owed, amounts, strict=True)
            if amount.is_positive()
        )
        if not shares:
            return ChargeOutcomes()
        amount = total([share.amount for share in shares], shares[0].amount.currency)
        now = self.now_for(account)
        charge = self.gateway.charge(method, amount, f"{key}/charge", self.payers_now(account))
        command = charge_commands.RecordCombinedCharge(
            partner_id=account.id,
            shares=shares,
            source=method.source,
            charge=charge,
            line_id=line_id,
        )
        try:
            result = self.bus.execute(command, key)
        except BillingError as refusal:
            if charge.status is ChargeStatus.SUCCEEDED:
                # An invoice moved on while it was charged: give all the money back.
                self.gateway.refund(charge.charge_id, amount, f"{key}/compensate", now)
            return ChargeOutcomes(
                [{"invoice_id": str(share.invoice_id), "error": refusal.code} for share in shares]
            )
        return ChargeOutcomes(list(result.data["charges"]), result.position)

    def replayed_charges(self, key: str) -> ChargeOutcomes:
        """The first answer of the charge a replayed command set off, if it made one."""
        earlier = self.bus.replayed(f"{key}/charge")
        if earlier is None:
            return ChargeOutcomes()
        return ChargeOutcomes(list(earlier.data.get("charges", [])), earlier.position)

    def refund(
        self,
        invoice_id: UUID,
        payment_id: UUID,
        amount: Money,
        reason: str,
        key: str,
        actor: Actor = VENDOR,
    ) -> CommandResult:
        """Refund part or all of a payment, through the processor when it came through it."""
        invoice = owned(self.bus.invoice(invoice_id), actor)
        request = RecordRefund(
            invoice_id=invoice_id,
            payment_id=payment_id,
            refund_id=derived_id(key),
            amount=amount,
            reason=reason,
            actor=actor,
        )
        if (first := self.bus.first_answer(request, key)) is not None:
            return first
        now = self.now_for(self.bus.partner_account(invoice.partner_id))
        payment = invoice.refund(  # checks the refund on a copy read for the purpose
            refund_id=request.refund_id,
            payment_id=payment_id,
            amount=amount,
            reason=reason,
            on=now.date(),
            now=now,
        )
        if not (payment.source.is_gateway and payment.reference):
            return self.bus.execute(request, key)
        refunded = self.gateway.refund(payment.reference, amount, f"{key}/refund", now)
        return self.bus.execute(replace(request, gateway_refund_id=refunded.refund_id), key)

    def settle_debits(self, invoice_id: UUID, on: date, key: str) -> CommandResult | None:
        """Record each of an invoice's direct debits the processor says settled or bounced."""
        invoice = self.bus.load(Invoice, invoice_id)
        if invoice is None:
            return None
        result = None
        now = self.payers_now(self.bus.partner_account(invoice.partner_id))
        for payment_id, reference in list(invoice.pending_references.items()):
            settlement = self.gateway.settlement(reference, now)
            if settlement is None:
                continue
            result = self.bus.execute(
                charge_commands.SettleDebit(
                    invoice_id=invoice_id,
                    payment_id=UUID(payment_id),
                    succeeded=settlement.succeeded,
                    decline_code=settlement.decline_code,
                    reason=settlement.reason,
                    on=on,
                ),
                f"{key}/{payment_id}",
            )
        return result

    def _charge(
        self,
        request: RecordCharge,
        invoice: Invoice,
        account: PartnerAccount,
        method: PaymentMethod,
        line_id: UUID | None,
        key: str,
    ) -> CommandResult:
        source = PaymentSource.CARD if isinstance(method, CardToken) else PaymentSource.DIRECT_DEBIT
        if source is PaymentSource.CARD:
            amount, fee_line = invoice.card_charge(self.policy_today(account))
        else:
            amount, fee_line = invoice.outstanding - invoice.pending_total, None
        if not amount.is_positive():
            raise NothingOutstanding(
                f"Invoice {invoice.number} has nothing left to charge.", number=invoice.number
            )
        now = self.now_for(account)
        charge = self.gateway.charge(method, amount, f"{key}/charge", self.payers_now(account))
        command = replace(
            request,
            source=source,
            amount=amount,
            fee_line=fee_line,
            charge=charge,
            line_id=line_id,
        )
        try:
            return self.bus.execute(command, key)
        except IdempotencyKeyReused:
            # Another request took the key between the question and the charge: the processor
            # answered with that request's charge (same key), which is not this one's to refund.
            raise
        except BillingError:
            if charge.status is ChargeStatus.SUCCEEDED:
                # The invoice moved on while it was charged: give the money back.
                self.gateway.refund(charge.charge_id, amount, f"{key}/compensate", now)
            raise

    def _record_no_method(
        self, invoice: Invoice, account: PartnerAccount, key: str
    ) -> CommandResult:
        """Autopay found nothing to charge: a failed payment the payer is told about (R-H4)."""
        amount, fee_line = invoice.card_charge(self.policy_today(account))
        declined = ChargeResult(
            charge_id=f"none/{invoice.id}",
            status=ChargeStatus.DECLINED,
            amount=amount,
            decline_code="no_payment_method",
            reason="There is no card or bank account to charge.",
        )
        command = RecordCharge(
            invoice_id=invoice.id,
            payment_id=derived_id(key),
            source=PaymentSource.CARD,
            amount=amount,
            fee_line=fee_line,
            charge=declined,
        )
        return self.bus.execute(command, key)


def owned(invoice: Invoice, actor: Actor) -> Invoice:
    """The invoice, if `actor` may act on it; another partner's invoice is not found (checked
    before the processor is called)."""
    if not actor.may_act_for(invoice.partner_id):
        raise InvoiceNotFound.of(invoice.id)
    return invoice


def recorded_top_up(
    partner_id: UUID,
    amount: Money,
    source: PaymentSource,
    key: str,
    *,
    reference: str | None = None,
    method_id: UUID | None = None,
    actor: Actor = VENDOR,
) -> partner_commands.RecordTopUp:
    """The command that puts a top-up on the company balance, its id derived from the key."""
    return partner_commands.RecordTopUp(
        partner_id=partner_id,
        top_up_id=derived_id(key),
        amount=amount,
        source=source,
        reference=reference,
        method_id=method_id,
        actor=actor,
    )


def top_up_by_card(
    charging: Charging,
    partner_id: UUID,
    amount: Money,
    method_id: UUID | None,
    key: str,
    actor: Actor = VENDOR,
) -> CommandResult:
    """Charge a card and put the money on the company balance (R-C2).

    Before the card is charged: another partner's account is not found, and a key used
    before answers its first answer if it asked the same (amount, card), or is refused with
    `idempotency_key_reused` if it asked another (R-X5): nothing reaches the processor.
    """
    bus, gateway = charging.bus, charging.gateway
    account = bus.owned_partner_account(partner_id, actor)
    command = recorded_top_up(
        partner_id, amount, PaymentSource.CARD, key, method_id=method_id, actor=actor
    )
    if (first := bus.first_answer(command, key)) is not None:
        return first
    _, method = account.method_to_charge(PaymentSource.CARD, method_id)
    account.check_top_up(amount, PaymentSource.CARD)  # nothing is charged for a refused one
    charge = gateway.charge(method, amount, f"{key}/charge", charging.payers_now(account))
    if charge.status is not ChargeStatus.SUCCEEDED:
        raise PaymentDeclined(
            charge.reason or "The card was declined.", decline_code=charge.decline_code
        )
    try:
        return bus.execute(replace(command, charge_id=charge.charge_id), key)
    except BillingError:
        # The account moved on while the card was charged (another top-up filled it, it was
        # closed): give the money back, and answer the refusal.
        gateway.refund(charge.charge_id, amount, f"{key}/compensate", charging.now_for(account))
        raise
