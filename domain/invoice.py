"""The invoice: what a payer owes for a period or for leads, and how it was paid."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import (
    AmountNotPositive,
    BonusPaymentNotRefundable,
    ClosingDocumentNotAllowed,
    CreditExceedsInvoice,
    CurrencyMismatch,
    InvalidValue,
    InvoiceSettled,
    InvoiceVoided,
    NothingOutstanding,
    OfflinePaymentNotRefundable,
    Overpayment,
    PaymentNotFound,
    RefundExceedsPayment,
    VoidNotAllowed,
)
from domain.money import (
    AMOUNT_MAX_MINOR,
    INVOICE_TOTAL_MAX_MINOR,
    Money,
    allocate,
    require_at_most,
    total,
)
from domain.payment_methods import PaymentSource
from domain.pricing import BillingPolicy, card_fee_line, with_recorded_facts
from domain.values import InvoiceLine, InvoiceLineKind, Payer, clean_processor_id, clean_text

LINES_MAX = 10_000
"""An invoice's lines: one per location or lead; bounded so a document stays printable."""
MARKED_PAID_NOTE = "marked as paid when the card was updated"


def charge_shares(
    invoices: Sequence[Invoice], source: PaymentSource, policy: BillingPolicy
) -> list[tuple[Money, InvoiceLine | None]]:
    """What one charge to a card or bank account takes for each invoice it pays at once, and
    each one's card fee line (R-H5, R-L5, R-O7): the fee is on the total charged, and each
    invoice bears a part of it in proportion to what it owes (largest remainder). A debit pays
    what is owed and not already on its way, with no fee."""
    if source is not PaymentSource.CARD:
        return [(found.outstanding - found.pending_total, None) for found in invoices]
    owed = [found.outstanding for found in invoices]
    return [
        (amount + fee.amount if fee else amount, fee)
        for amount, fee in zip(owed, card_fee_shares(owed, policy), strict=True)
    ]


def card_fee_shares(owed: Sequence[Money], policy: BillingPolicy) -> list[InvoiceLine | None]:
    """Each amount's card fee line when one card charge pays them all (R-O7): the fee is on
    the total, and each amount bears a part of it in proportion (largest remainder); none
    unless every amount is above zero. One amount alone bears the whole fee on it."""
    if not owed or not all(amount.is_positive() for amount in owed):
        return [None for _ in owed]
    fee_line = card_fee_line(total(list(owed), owed[0].currency), policy)
    if fee_line is None:
        return [None for _ in owed]
    fees = allocate(fee_line.amount, [amount.amount_minor for amount in owed])
    return [replace(fee_line, amount=fee) if fee.is_positive() else None for fee in fees]


class InvoiceKind(StrEnum):
    """What an invoice bills. (Top-ups are not invoiced: they credit the balance directly.)"""

    SUBSCRIPTION = "subscription"
    LEADS = "leads"


class InvoiceStatus(StrEnum):
    """Open until paid in full or credited (settled), or voided (R-X6)."""

    OPEN = "open"
    SETTLED = "settled"
    VOID = "void"


@dataclass(frozen=True, slots=True)
class Payment:
    """A payment on an invoice, as the invoice keeps track of it."""

    source: PaymentSource
    amount: Money
    fee: Money
    """The part of `amount` that paid the card fee line (R-O7); zero for other sources."""
    refunded: Money
    reference: str | None = None
    """The processor's charge id, for refunds through the gateway."""

    @property
    def refundable(self) -> Money:
        return self.amount - self.refunded


@dataclass(frozen=True, slots=True)
class AnnouncedPayment:
    """Money the payer says it sent outside the gateway, not yet confirmed as received."""

    source: PaymentSource
    amount: Money
    reference: str


class Invoice(Aggregate):
    """An invoice to a partner or a client, with its payments, refunds and credit notes."""

    class Event(Aggregate.Event):
        """Every invoice event names its partner (the partition key) and its payer.

        With both on every event, each event's postings follow from the event alone (R-X2).
        """

        partner_id: UUID
        payer_id: UUID
        """The partner, or the client when the client pays for itself."""

    class Issued(Event, Aggregate.Created):
        """The invoice was issued with its number from a gapless series (R-O3, R-X3); each line
        records what it is (product, location, period, price version, lead, a discount's or
        fee's rate and term), never a sentence: documents and e-mails word it in their reader's
        language (issue 17); lines recorded before keep the English description they had."""

        class_version = 3

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Version 1's discount lines stated their rate and term in a sentence only
            (issue 17)."""
            state["lines"] = tuple(with_recorded_facts(line) for line in state["lines"])

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            """Version 2's lines carried an English sentence each, version 3's none (issue 17).
            The sentence stays with the old lines: the one line a reader cannot word (a
            product the catalogue does not know) still prints it."""

        number: str
        kind: InvoiceKind
        payer: Payer
        client_id: UUID | None
        """The client the invoice is for; the payer too when `payer` is client (R-C8)."""
        lines: tuple[InvoiceLine, ...]
        total: Money
        issued_on: date
        due_on: date
        expected_source: PaymentSource | None
        """How it is expected to be paid. Unless that is a card or a debit (which fail instead),
        the invoice is overdue once its due date passes unpaid (R-H2)."""
        line_ids: tuple[UUID, ...]

    def __init__(
        self,
        partner_id: UUID,
        payer_id: UUID,
        number: str,
        kind: InvoiceKind,
        payer: Payer,
        client_id: UUID | None,
        lines: tuple[InvoiceLine, ...],
        total: Money,
        issued_on: date,
        due_on: date,
        expected_source: PaymentSource | None,
        line_ids: tuple[UUID, ...],
    ) -> None:
        self.partner_id = partner_id
        self.payer_id = payer_id
        self.number = number
        self.kind = kind
        self.payer = payer
        self.client_id = client_id
        self.lines = list(lines)
        self.total = total
        self.issued_on = issued_on
        self.due_on = due_on
        self.expected_source = expected_source
        self.line_ids = tuple(line_ids)
        self.status = InvoiceStatus.OPEN
        self.payments: dict[str, Payment] = {}
        self.credited = Money.zero(total.currency)
        self.overdue = False
        self.failed_attempts = 0
        self.last_decline: str | None = None
        self.last_attempt_failed = False
        self.pending: dict[str, Money] = {}
        """Debits submitted and not yet settled or bounced, by payment id."""
        self.pending_references: dict[str, str] = {}
        """The processor's id of each pending debit, to ask how it went."""
        self.pending_since: dict[str, date] = {}
        """The partner's business day each pending debit was submitted on (R-X7)."""
        self.announced_payments: dict[str, AnnouncedPayment] = {}
        """Offline payments announced and not yet confirmed, by payment id (R-H2)."""
        self.closing_document_number: str | None = None

    @classmethod
    def issue(
        cls,
        *,
        invoice_id: UUID,
        partner_id: UUID,
        number: str,
        kind: InvoiceKind,
        payer: Payer,
        client_id: UUID | None,
        lines: Sequence[InvoiceLine],
        issued_on: date,
        due_on: date,
        expected_source: PaymentSource | None,
        line_ids: Sequence[UUID] = (),
        now: datetime,
    ) -> Invoice:
        """Issue an invoice whose total is the sum of its lines, in one currency."""
        if not lines:
            raise InvalidValue("An invoice needs at least one line.", field="lines")
        if len(lines) > LINES_MAX:
            raise InvalidValue(f"An invoice has at most {LINES_MAX} lines.", field="lines")
        if payer is Payer.CLIENT and client_id is None:
            raise InvalidValue("A client-paid invoice names its client.", field="client_id")
        if due_on < issued_on:
            raise InvalidValue("An invoice is due on or after its issue date.", field="due_on")
        currency = lines[0].amount.currency
        for line in lines:
            require_at_most(line.amount, INVOICE_TOTAL_MAX_MINOR, "lines", "An invoice line")
        amount = total([line.amount for line in lines], currency)
        if not amount.is_positive():
            raise AmountNotPositive("An invoice's total must be above zero.", field="lines")
        require_at_most(amount, INVOICE_TOTAL_MAX_MINOR, "lines", "An invoice's total")
        return cls._create(
            cls.Issued,
            id=invoice_id,
            partner_id=partner_id,
            payer_id=client_id if payer is Payer.CLIENT else partner_id,
            number=clean_text("number", number),
            kind=kind,
            payer=payer,
            client_id=client_id,
            lines=tuple(lines),
            total=amount,
            issued_on=issued_on,
            due_on=due_on,
            expected_source=expected_source,
            line_ids=tuple(dict.fromkeys(line_ids)),
            timestamp=now,
        )

    # --- what is owed --------------------------------------------------------------------

    @property
    def currency(self) -> str:
        return self.total.currency

    @property
    def paid(self) -> Money:
        return total([payment.amount for payment in self.payments.values()], self.currency)

    @property
    def refunded(self) -> Money:
        return total([payment.refunded for payment in self.payments.values()], self.currency)

    @property
    def outstanding(self) -> Money:
        """What the payer still owes: the total less credit notes and payments."""
        if self.status is InvoiceStatus.VOID:
            return Money.zero(self.currency)
        return self.total - self.credited - self.paid

    @property
    def pending_total(self) -> Money:
        return total(list(self.pending.values()), self.currency)

    @property
    def is_outstanding(self) -> bool:
        """Failed (its last charge declined) or overdue (not collected by its due date): R-H2.

        A debit on its way is neither, until it settles or bounces.
        """
        return (
            self.status is InvoiceStatus.OPEN
            and not self.pending
            and (self.overdue or self.last_attempt_failed)
        )

    # --- paying ----------------------------------------------------------------------------

    class CardFeeAdded(Event):
        """The card processing fee became its own line when a card paid (R-O7), at the rate
        of the billing policy's version `policy_version`, in force on the payment's date."""

        class_version = 4

        line: InvoiceLine
        policy_version: int

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Version 1 named no policy version: every fee before it was at version 0's rate."""
            state["policy_version"] = 0

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            """Version 2's line stated its rate in a sentence only (issue 17)."""
            state["line"] = with_recorded_facts(state["line"])

        @staticmethod
        def upcast_v3_v4(state: dict[str, Any]) -> None:
            """Version 3's line carried its English sentence, version 4's none (issue 17); the
            old line keeps it, as `Issued`'s do."""

        def apply(self, invoice: Invoice) -> None:
            invoice.lines.append(self.line)
            invoice.total = invoice.total + self.line.amount

    class PaymentReceived(Event):
        """Money arrived for the invoice from one source (R-C2)."""

        payment_id: UUID
        source: PaymentSource
        amount: Money
        fee: Money
        received_on: date
        reference: str | None
        """The gateway's charge id, a cheque number; never card data."""
        note: str | None

        def apply(self, invoice: Invoice) -> None:
            invoice.payments[str(self.payment_id)] = Payment(
                source=self.source,
                amount=self.amount,
                fee=self.fee,
                refunded=Money.zero(self.amount.currency),
                reference=self.reference,
            )
            invoice.pending.pop(str(self.payment_id), None)
            invoice.pending_references.pop(str(self.payment_id), None)
            invoice.pending_since.pop(str(self.payment_id), None)
            invoice.announced_payments.pop(str(self.payment_id), None)
            invoice.last_attempt_failed = False

    class Settled(Event):
        """Nothing is owed any more: paid in full, or credited (R-H3: the banner goes)."""

        settled_on: date

        def apply(self, invoice: Invoice) -> None:
            invoice.status = InvoiceStatus.SETTLED

    def card_charge(self, policy: BillingPolicy) -> tuple[Money, InvoiceLine | None]:
        """What a card is charged to pay the outstanding amount, and the fee line it adds."""
        outstanding = self.outstanding
        fee = card_fee_line(outstanding, policy)
        return (outstanding + fee.amount if fee else outstanding), fee

    def record_payment(
        self,
        *,
        payment_id: UUID,
        source: PaymentSource,
        amount: Money,
        on: date,
        now: datetime,
        fee_line: InvoiceLine | None = None,
        fee_policy_version: int = 0,
        reference: str | None = None,
        note: str | None = None,
    ) -> None:
        """Record a payment of up to what is owed; a card payment adds its fee line first,
        naming the version of the billing policy whose rate made it."""
        self._require_open()
        self._require_amount(amount, "A payment must be above zero.")
        if str(payment_id) in self.payments:
            raise InvalidValue(f"Payment {payment_id} is already recorded.", field="payment_id")
        settling = self.pending.get(str(payment_id))
        if settling is not None and (
            source is not PaymentSource.DIRECT_DEBIT or amount != settling
        ):
            raise InvalidValue(
                "A debit settles for the amount it was submitted for.", field="amount"
            )
        fee = Money.zero(self.currency)
        if fee_line is not None:
            if source is not PaymentSource.CARD or fee_line.kind is not InvoiceLineKind.CARD_FEE:
                raise InvalidValue("Only a card payment adds a card fee line.", field="fee")
            self._require_amount(fee_line.amount, "A card fee must be above zero.", field="fee")
            fee = fee_line.amount
            require_at_most(self.total + fee, AMOUNT_MAX_MINOR, "fee", "A total with its card fee")
        # Debits on their way are owed to no one else: a new payment may cover the rest only.
        room = (
            self.outstanding
            + fee
            - (self.pending_total if settling is None else Money.zero(self.currency))
        )
        if amount > room:
            raise Overpayment(f"The invoice owes {room}.", outstanding=room.amount_minor)
        # Free text is checked before the fee line is added: a refusal changes nothing. A card
        # or debit's reference is the processor's id for the charge, not text a person typed.
        if reference is not None:
            reference = (
                clean_processor_id("reference", reference)
                if source.is_gateway
                else clean_text("reference", reference)
            )
        note = None if note is None else clean_text("note", note)
        if fee_line is not None:
            self._trigger(self.CardFeeAdded, now, line=fee_line, policy_version=fee_policy_version)
        self._trigger(
            self.PaymentReceived,
            now,
            payment_id=payment_id,
            source=source,
            amount=amount,
            fee=fee,
            received_on=on,
            reference=reference,
            note=note,
        )
        self._settle_if_paid(on, now)

    class PaymentAnnounced(Event):
        """The payer says it sent money outside the gateway (a bank transfer, cash, a cheque);
        it pays nothing until the vendor confirms it arrived (R-C2, R-H2)."""

        payment_id: UUID
        source: PaymentSource
        amount: Money
        reference: str
        announced_on: date

        def apply(self, invoice: Invoice) -> None:
            invoice.announced_payments[str(self.payment_id)] = AnnouncedPayment(
                self.source, self.amount, self.reference
            )

    def announce_payment(
        self,
        *,
        payment_id: UUID,
        source: PaymentSource,
        amount: Money,
        reference: str,
        on: date,
        now: datetime,
    ) -> None:
        """Note money the payer says it sent by bank, cash, cheque or other (R-H2): owed still."""
        self._require_open()
        if not source.is_confirmed_by_vendor:
            raise InvalidValue(
                f"A {source.value} payment is not announced; it is paid at once.", field="source"
            )
        self._require_amount(amount, "An announced payment must be above zero.")
        key = str(payment_id)
        if key in self.payments or key in self.announced_payments:
            raise InvalidValue(f"Payment {payment_id} is already recorded.", field="payment_id")
        if amount > self.outstanding:
            raise Overpayment(
                f"The invoice owes {self.outstanding}.",
                outstanding=self.outstanding.amount_minor,
            )
        self._trigger(
            self.PaymentAnnounced,
            now,
            payment_id=payment_id,
            source=source,
            amount=amount,
            reference=clean_text("reference", reference),
            announced_on=on,
        )

    def confirm_payment(self, payment_id: UUID, on: date, now: datetime) -> AnnouncedPayment:
        """The vendor received an announced payment: it pays the invoice now (R-H2)."""
        announced = self.announced_payments.get(str(payment_id))
        if announced is None:
            raise PaymentNotFound.of(payment_id, what="announced payment", where=" on this invoice")
        self.record_payment(
            payment_id=payment_id,
            source=announced.source,
            amount=announced.amount,
            on=on,
            now=now,
            reference=announced.reference,
        )
        return announced

    class PaymentFailed(Event):
        """A card or debit was declined; the payer is told why (R-H2, R-H4)."""

        payment_id: UUID
        source: PaymentSource
        amount: Money
        decline_code: str
        reason: str
        attempted_on: date

        def apply(self, invoice: Invoice) -> None:
            invoice.failed_attempts += 1
            invoice.last_decline = self.decline_code
            invoice.last_attempt_failed = True
            invoice.pending.pop(str(self.payment_id), None)
            invoice.pending_references.pop(str(self.payment_id), None)
            invoice.pending_since.pop(str(self.payment_id), None)

    def record_failed_payment(
        self,
        *,
        payment_id: UUID,
        source: PaymentSource,
        amount: Money,
        decline_code: str,
        reason: str,
        on: date,
        now: datetime,
    ) -> None:
        """Record a declined charge with the gateway's reason (R-H2, R-H4)."""
        self._require_open()
        if not source.is_gateway:
            raise InvalidValue("Only card and debit payments can fail.", field="source")
        self._require_amount(amount, "A charge must be above zero.")
        self._trigger(
            self.PaymentFailed,
            now,
            payment_id=payment_id,
            source=source,
            amount=amount,
            decline_code=clean_text("decline_code", decline_code),
            reason=clean_text("reason", reason),
            attempted_on=on,
        )

    class PaymentPending(Event):
        """A direct debit was submitted; it settles or bounces a few business days later."""

        payment_id: UUID
        amount: Money
        reference: str
        """The processor's id for the debit."""
        submitted_on: date

        def apply(self, invoice: Invoice) -> None:
            invoice.pending[str(self.payment_id)] = self.amount
            invoice.pending_references[str(self.payment_id)] = self.reference
            invoice.pending_since[str(self.payment_id)] = self.submitted_on
            invoice.last_attempt_failed = False

    def record_pending_debit(
        self, *, payment_id: UUID, amount: Money, reference: str, on: date, now: datetime
    ) -> None:
        """Record a debit the processor accepted for collection (ACH; R-C2)."""
        self._require_open()
        self._require_amount(amount, "A debit must be above zero.")
        key = str(payment_id)
        if key in self.payments or key in self.pending:
            raise InvalidValue(f"Payment {payment_id} is already recorded.", field="payment_id")
        room = self.outstanding - self.pending_total
        if amount > room:
            raise Overpayment(f"The invoice owes {room}.", outstanding=room.amount_minor)
        self._trigger(
            self.PaymentPending,
            now,
            payment_id=payment_id,
            amount=amount,
            reference=clean_processor_id("reference", reference),
            submitted_on=on,
        )

    class MarkedOverdue(Event):
        """An offline payment was not collected by the due date (R-H2)."""

        overdue_on: date

        def apply(self, invoice: Invoice) -> None:
            invoice.overdue = True

    def mark_overdue(self, today: date, now: datetime) -> bool:
        """Mark the invoice overdue once its due date has passed unpaid; say whether it did."""
        if (
            self.status is not InvoiceStatus.OPEN
            or self.overdue
            or self.pending
            or today <= self.due_on
            or (self.expected_source is not None and self.expected_source.is_gateway)
        ):
            return False
        self._trigger(self.MarkedOverdue, now, overdue_on=today)
        return True

    def mark_paid(self, payment_id: UUID, on: date, now: datetime) -> None:
        """Mark a failed or overdue invoice as paid outside Ledgerline (R-H5)."""
        if not self.is_outstanding:
            raise NothingOutstanding(
                f"Invoice {self.number} has no failed or overdue payment.", number=self.number
            )
        self.record_payment(
            payment_id=payment_id,
            source=PaymentSource.OTHER,
            amount=self.outstanding,
            on=on,
            now=now,
            note=MARKED_PAID_NOTE,
        )

    # --- refunds and corrections (R-H6, R-X6) ------------------------------------------

    class PaymentRefunded(Event):
        """Part or all of a payment went back to the payer, with a receipt (R-H6)."""

        refund_id: UUID
        payment_id: UUID
        source: PaymentSource
        amount: Money
        reason: str
        refunded_on: date

        def apply(self, invoice: Invoice) -> None:
            key = str(self.payment_id)
            payment = invoice.payments[key]
            invoice.payments[key] = replace(payment, refunded=payment.refunded + self.amount)

    def refund(
        self,
        *,
        refund_id: UUID,
        payment_id: UUID,
        amount: Money,
        reason: str,
        on: date,
        now: datetime,
    ) -> Payment:
        """Refund up to what a payment paid and was not yet refunded (R-H6)."""
        payment = self.payments.get(str(payment_id))
        if payment is None:
            raise PaymentNotFound.of(payment_id, where=" on this invoice")
        if payment.source.is_offline:
            raise OfflinePaymentNotRefundable(
                f"A {payment.source.value} payment is not refunded here; cancel the line instead.",
                source=payment.source.value,
            )
        if payment.source is PaymentSource.BONUS:
            raise BonusPaymentNotRefundable(
                "Bonus payments are not refunded; issue a credit note instead.",
                source=payment.source.value,
            )
        if amount.currency != self.currency:
            raise CurrencyMismatch(
                f"The invoice is in {self.currency}.", expected=self.currency, got=amount.currency
            )
        if not amount.is_positive():
            raise AmountNotPositive("A refund must be above zero.", field="amount")
        require_at_most(amount, AMOUNT_MAX_MINOR, "amount", "A refund")
        if amount > payment.refundable:
            raise RefundExceedsPayment(
                f"At most {payment.refundable} of this payment can be refunded.",
                refundable=payment.refundable.amount_minor,
            )
        self._trigger(
            self.PaymentRefunded,
            now,
            refund_id=refund_id,
            payment_id=payment_id,
            source=payment.source,
            amount=amount,
            reason=clean_text("reason", reason),
            refunded_on=on,
        )
        return payment

    class Voided(Event):
        """The invoice was cancelled before anything was paid; its history stays (R-X6)."""

        amount: Money
        """What the invoice charged, now no longer owed."""
        reason: str
        voided_on: date

        def apply(self, invoice: Invoice) -> None:
            invoice.status = InvoiceStatus.VOID

    def void(self, reason: str, on: date, now: datetime) -> None:
        if self.status is InvoiceStatus.VOID:
            raise InvoiceVoided(f"Invoice {self.number} is already void.", number=self.number)
        if self.payments or self.credited.is_positive():
            raise VoidNotAllowed(
                f"Invoice {self.number} has payments or credits; issue a credit note instead.",
                number=self.number,
            )
        self._trigger(
            self.Voided, now, amount=self.total, reason=clean_text("reason", reason), voided_on=on
        )

    class CreditNoteIssued(Event):
        """Part or all of the invoice was credited by a numbered credit note (R-X6)."""

        credit_note_id: UUID
        credit_note_number: str
        amount: Money
        reason: str
        issued_on: date

        def apply(self, invoice: Invoice) -> None:
            invoice.credited = invoice.credited + self.amount

    def issue_credit_note(
        self,
        *,
        credit_note_id: UUID,
        number: str,
        amount: Money,
        reason: str,
        on: date,
        now: datetime,
    ) -> None:
        """Credit part or all of the invoice; never more than its total (R-X6)."""
        if self.status is InvoiceStatus.VOID:
            raise InvoiceVoided(f"Invoice {self.number} is void.", number=self.number)
        if amount.currency != self.currency:
            raise CurrencyMismatch(
                f"The invoice is in {self.currency}.", expected=self.currency, got=amount.currency
            )
        if not amount.is_positive():
            raise AmountNotPositive("A credit note must be above zero.", field="amount")
        require_at_most(amount, AMOUNT_MAX_MINOR, "amount", "A credit note")
        creditable = self.total - self.credited
        if amount > creditable:
            raise CreditExceedsInvoice(
                f"At most {creditable} of invoice {self.number} can still be credited.",
                creditable=creditable.amount_minor,
            )
        self._trigger(
            self.CreditNoteIssued,
            now,
            credit_note_id=credit_note_id,
            credit_note_number=clean_text("number", number),
            amount=amount,
            reason=clean_text("reason", reason),
            issued_on=on,
        )
        self._settle_if_paid(on, now)

    # --- closing documents (R-C7) -----------------------------------------------------

    @property
    def documentable_amount(self) -> Money:
        """What a closing document may cover: payments by card, bank or company balance."""
        zero = Money.zero(self.currency)
        # Per payment, never below zero: refunding a card fee does not un-document another payment.
        return total(
            [
                max(payment.amount - payment.fee - payment.refunded, zero)
                for payment in self.payments.values()
                if payment.source.allows_closing_document
            ],
            self.currency,
        )

    class ClosingDocumentRequested(Event):
        """The partner asked for a closing document (act of completed work) for the client."""

        document_id: UUID
        document_number: str
        client_id: UUID | None
        amount: Money
        requested_on: date

        def apply(self, invoice: Invoice) -> None:
            invoice.closing_document_number = self.document_number

    def request_closing_document(
        self, document_id: UUID, number: str, on: date, now: datetime
    ) -> Money:
        """A closing document for a paid invoice; none for bonus payments (R-C7).

        Top-ups never get one: they are not invoiced, they credit the balance directly.
        """
        reason = self._closing_document_refusal()
        if reason is not None:
            raise ClosingDocumentNotAllowed(reason[1], reason=reason[0], number=self.number)
        amount = self.documentable_amount
        self._trigger(
            self.ClosingDocumentRequested,
            now,
            document_id=document_id,
            document_number=clean_text("number", number),
            client_id=self.client_id,
            amount=amount,
            requested_on=on,
        )
        return amount

    def _closing_document_refusal(self) -> tuple[str, str] | None:
        if self.status is not InvoiceStatus.SETTLED:
            return "not_paid", f"Invoice {self.number} is not paid."
        if self.closing_document_number is not None:
            return "already_requested", f"Invoice {self.number} already has a closing document."
        if not self.documentable_amount.is_positive():
            if any(payment.source is PaymentSource.BONUS for payment in self.payments.values()):
                return "paid_with_bonuses", "Purchases paid with bonuses get no closing document."
            return (
                "nothing_documentable",
                f"Nothing on invoice {self.number} was paid by card, bank or company balance.",
            )
        return None

    # --- helpers ----------------------------------------------------------------------

    def _trigger(self, event_class: type[Any], now: datetime, **fields: Any) -> None:
        self.trigger_event(
            event_class, partner_id=self.partner_id, payer_id=self.payer_id, timestamp=now, **fields
        )

    def _require_amount(self, amount: Money, detail: str, field: str = "amount") -> None:
        if amount.currency != self.currency:
            raise CurrencyMismatch(
                f"The invoice is in {self.currency}.", expected=self.currency, got=amount.currency
            )
        if not amount.is_positive():
            raise AmountNotPositive(detail, field=field)
        require_at_most(amount, AMOUNT_MAX_MINOR, field, "An amount")

    def _require_open(self) -> None:
        if self.status is InvoiceStatus.VOID:
            raise InvoiceVoided(f"Invoice {self.number} is void.", number=self.number)
        if self.status is InvoiceStatus.SETTLED:
            raise InvoiceSettled(f"Invoice {self.number} is already paid.", number=self.number)

    def _settle_if_paid(self, on: date, now: datetime) -> None:
        if self.status is InvoiceStatus.OPEN and not self.outstanding.is_positive():
            self._trigger(self.Settled, now, settled_on=on)
