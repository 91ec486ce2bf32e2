"""What follows from billing facts, shared by the commands: invoices, payments and their effects.

Each function works inside one command's unit of work, so everything it changes is recorded
in that command's transaction or not at all.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from uuid import UUID, uuid4

from domain.bonus_wallet import BonusWallet, CreditReason
from domain.calendar import BillingPeriod
from domain.invoice import Invoice, InvoiceKind, InvoiceStatus, Payment
from domain.money import Money, total
from domain.partner_account import PartnerAccount
from domain.payment_methods import PaymentSource
from domain.pricing import Product, cashback_clawback, cashback_for, subscription_lines
from domain.subscription_line import SubscriptionLine
from domain.values import InvoiceLine, InvoiceLineKind, Payer, bonus_wallet_id
from ledger.commands.base import context, line, policy_on, wallet
from ledger.notifications import (
    invoice_issued,
    payment_failed,
    refund_receipt,
)
from ledger.prices import line_price, product_names
from ledger.unit_of_work import UnitOfWork

INVOICE_SERIES = "INV"
CREDIT_NOTE_SERIES = "CN"
CLOSING_DOCUMENT_SERIES = "ACT"
PAID_ON_ISSUE = frozenset(
    {PaymentSource.CARD, PaymentSource.DIRECT_DEBIT, PaymentSource.COMPANY_BALANCE}
)
"""Autopay from these is due the day the invoice is issued; other invoices get payment terms."""


PARTNERS_OWN_MONEY = frozenset({PaymentSource.COMPANY_BALANCE, PaymentSource.BONUS})
"""A client invoice paid with these was paid by the partner: no cashback for it (R-C4)."""


def number(uow: UnitOfWork, series: str, on: date) -> str:
    """The next number of a yearly series, gapless (R-X3): INV-2026-000042."""
    return f"{series}-{on.year}-{uow.next_number(f'{series}-{on.year}'):06d}"


def line_product(subscription: SubscriptionLine) -> Product:
    """The product as the line bought it (its price is fixed at creation)."""
    return Product(
        subscription.product_code,
        subscription.product_name,
        subscription.unit,
        subscription.unit_price,
    )


def period_lines(
    uow: UnitOfWork, subscription: SubscriptionLine, period: BillingPeriod
) -> list[InvoiceLine]:
    """The invoice lines for one period of a line (R-O3, R-C3): at the price in force on the
    period's first day, each product line naming its price version and override (issue 13),
    with the duration discount of the policy in force that day."""
    anchor_day = subscription.anchor_day or period.start.day
    price = line_price(uow, subscription, period.start)
    policy = policy_on(uow, period.start)
    lines = subscription_lines(
        replace(line_product(subscription), unit_price=price.amount),
        subscription.id,
        list(subscription.locations.values()),
        subscription.term,
        period,
        anchor_day,
        policy,
    )
    return [
        replace(item, price_version=price.price_version, price_override=price.price_override)
        if item.kind is InvoiceLineKind.PRODUCT
        else replace(item, policy_version=policy.version)
        if item.kind is InvoiceLineKind.DISCOUNT
        else item
        for item in lines
    ]


def expected_source(
    account: PartnerAccount, subscription: SubscriptionLine | None
) -> PaymentSource:
    """How an invoice will be paid: the line's autopay, the account's, or a bank transfer."""
    if subscription is not None and subscription.autopay is not None:
        return subscription.autopay
    if subscription is not None and subscription.payer is Payer.CLIENT:
        return PaymentSource.CARD if subscription.card is not None else PaymentSource.BANK_TRANSFER
    return account.autopay or PaymentSource.BANK_TRANSFER


def issue_invoice(
    uow: UnitOfWork,
    account: PartnerAccount,
    *,
    kind: InvoiceKind,
    payer: Payer,
    client_id: UUID | None,
    lines: list[InvoiceLine],
    issued_on: date,
    source: PaymentSource,
) -> Invoice:
    """Issue an invoice, note it on each line it charges, and e-mail it (R-O5)."""
    policy = policy_on(uow, issued_on)
    due_on = (
        issued_on
        if source in PAID_ON_ISSUE
        else issued_on + timedelta(days=policy.payment_terms_days)
    )
    line_ids = list(dict.fromkeys(item.line_id for item in lines if item.line_id is not None))
    invoice = Invoice.issue(
        invoice_id=uuid4(),
        partner_id=account.id,
        number=number(uow, INVOICE_SERIES, issued_on),
        kind=kind,
        payer=payer,
        client_id=client_id,
        lines=lines,
        issued_on=issued_on,
        due_on=due_on,
        expected_source=source,
        line_ids=line_ids,
        now=uow.now,
    )
    uow.add(invoice)
    for line_id in line_ids:
        charged = [item for item in lines if item.line_id == line_id]
        periods = [item.period for item in charged if item.period is not None]
        period = (
            BillingPeriod(min(p.start for p in periods), max(p.end for p in periods))
            if periods
            else None
        )
        line(uow, line_id).record_invoice(
            invoice.id,
            invoice.number,
            total([item.amount for item in charged], invoice.currency),
            period,
            uow.now,
        )
    recipient = payer_email(account, payer, client_id)
    if recipient:
        names = product_names(uow, invoice.lines)
        uow.send(invoice_issued(invoice, account, recipient, context(uow).public_url, names))
    if source is PaymentSource.COMPANY_BALANCE and account.balance >= invoice.total:
        pay_internally(
            uow, account, invoice, PaymentSource.COMPANY_BALANCE, invoice.total, issued_on
        )
    return invoice


def bill_period(
    uow: UnitOfWork,
    account: PartnerAccount,
    subscription: SubscriptionLine,
    period: BillingPeriod,
    on: date,
) -> Invoice | None:
    """Charge a line's period: on the partner's next invoice (unified billing) or its own."""
    lines = period_lines(uow, subscription, period)
    if subscription.unified_billing:
        account.defer_charge(subscription.id, lines, on, uow.now)
        return None
    return issue_invoice(
        uow,
        account,
        kind=InvoiceKind.SUBSCRIPTION,
        payer=subscription.payer,
        client_id=subscription.client_id,
        lines=lines,
        issued_on=on,
        source=expected_source(account, subscription),
    )


def invoice_leads(
    uow: UnitOfWork,
    account: PartnerAccount,
    subscription: SubscriptionLine,
    on: date,
    *,
    delivered_before: date | None = None,
) -> Invoice | None:
    """Put a line's unbilled leads on one invoice (R-L1, R-L2): all of them, or (the Friday
    run) those delivered before that Friday, so a late run bills what an on-time one would."""
    lead_ids = (
        subscription.leads_delivered_before(delivered_before)
        if delivered_before is not None
        else [UUID(lead_id) for lead_id in subscription.unbilled_leads]
    )
    if not lead_ids:
        return None
    lines = [
        InvoiceLine(
            kind=InvoiceLineKind.LEAD,
            amount=subscription.unbilled_leads[str(lead_id)],
            product_code=subscription.product_code,
            line_id=subscription.id,
            lead_id=lead_id,
            price_version=subscription.unbilled_versions.get(str(lead_id)),
            price_override=subscription.unbilled_overrides.get(str(lead_id)),
        )
        for lead_id in lead_ids
    ]
    invoice = issue_invoice(
        uow,
        account,
        kind=InvoiceKind.LEADS,
        payer=subscription.payer,
        client_id=subscription.client_id,
        lines=lines,
        issued_on=on,
        source=expected_source(account, subscription),
    )
    subscription.record_leads_invoiced(invoice.id, lead_ids, uow.now)
    return invoice


def pay_internally(
    uow: UnitOfWork,
    account: PartnerAccount,
    invoice: Invoice,
    source: PaymentSource,
    amount: Money,
    on: date,
) -> UUID:
    """Pay from the company balance or the bonus wallet (R-C2, R-C5)."""
    payment_id = uuid4()
    if source is PaymentSource.COMPANY_BALANCE:
        account.spend_balance(payment_id, amount, invoice.id, uow.now)
    elif source is PaymentSource.BONUS:
        wallet(uow, account).spend(payment_id, amount, invoice.id, on, uow.now)
    else:
        raise ValueError(f"{source.value} is not paid from inside the ledger")
    invoice.record_payment(payment_id=payment_id, source=source, amount=amount, on=on, now=uow.now)
    after_payment(uow, account, invoice, payment_id, on)
    return payment_id


def after_payment(
    uow: UnitOfWork, account: PartnerAccount, invoice: Invoice, payment_id: UUID, on: date
) -> None:
    """What a payment sets off: settled lines, a lifted grace period, the partner's cashback."""
    payment = invoice.payments[str(payment_id)]
    if invoice.status is InvoiceStatus.SETTLED:
        after_settled(uow, account, invoice)
    if invoice.payer is Payer.CLIENT and payment.source not in PARTNERS_OWN_MONEY:
        policy = policy_on(uow, on)
        earned = cashback_for(payment.amount - payment.fee, policy)
        if earned.is_positive():
            wallet(uow, account).credit(
                credit_id=uuid4(),
                amount=earned,
                reason=CreditReason.CASHBACK,
                on=on,
                now=uow.now,
                payment_id=payment_id,
                client_id=invoice.client_id,
                policy_version=policy.version,
            )


def after_settled(uow: UnitOfWork, account: PartnerAccount, invoice: Invoice) -> None:
    """An invoice is settled: its lines know, and a missed payment is made good (R-E3, R-L4)."""
    for line_id in invoice.line_ids:
        line(uow, line_id).record_invoice_settled(invoice.id, uow.now)
    account.record_missed_payment_settled(invoice.id, uow.now)


def after_missed(uow: UnitOfWork, account: PartnerAccount, invoice: Invoice, on: date) -> None:
    """A payment the partner owed failed or is overdue: a week of grace starts (R-L4), as
    long as the policy in force on the invoice's due date says."""
    if invoice.payer is Payer.PARTNER:
        grace = policy_on(uow, invoice.due_on).grace_period_days
        account.record_missed_payment(invoice.id, grace, uow.now, on)


def after_failure(
    uow: UnitOfWork,
    account: PartnerAccount,
    invoice: Invoice,
    attempted: Money,
    decline_code: str,
    reason: str,
    on: date,
    subscription: SubscriptionLine | None,
) -> None:
    """A declined charge: grace for a partner, and the e-mails of R-H4."""
    after_missed(uow, account, invoice, on)
    recipient = payer_email(account, invoice.payer, invoice.client_id)
    business = account.billing_email
    for to in dict.fromkeys(address for address in (recipient, business) if address):
        uow.send(
            payment_failed(
                invoice,
                account,
                to,
                attempted,
                decline_code,
                reason,
                context(uow).public_url,
                subscription,
                attempt=invoice.failed_attempts,
            )
        )


def after_refund(
    uow: UnitOfWork,
    account: PartnerAccount,
    invoice: Invoice,
    payment: Payment,
    payment_id: UUID,
    refund_id: UUID,
    amount: Money,
    on: date,
) -> None:
    """A refund: back onto the balance if it came from there, cashback taken back (R-H6).

    `payment` is the payment as it stood before this refund; the cashback taken back is its
    share of the refunded price, never of the card fee (R-C4, R-O7).
    """
    if payment.source is PaymentSource.COMPANY_BALANCE:
        account.restore_balance(refund_id, amount, invoice.id, uow.now)
    if invoice.payer is Payer.CLIENT and payment.source not in PARTNERS_OWN_MONEY:
        bonuses = uow.get(BonusWallet, bonus_wallet_id(account.id))
        earned = (
            bonuses.earned_by_payment.get(str(payment_id), Money.zero(invoice.currency))
            if bonuses is not None
            else Money.zero(invoice.currency)
        )
        due = cashback_clawback(payment.amount, payment.fee, payment.refunded, amount, earned)
        if due.is_positive():
            wallet(uow, account).claw_back(
                clawback_id=uuid4(), payment_id=payment_id, due=due, on=on, now=uow.now
            )
    recipient = payer_email(account, invoice.payer, invoice.client_id)
    if recipient:
        uow.send(refund_receipt(invoice, account, recipient, refund_id, amount, payment.source))


def payer_email(account: PartnerAccount, payer: Payer, client_id: UUID | None) -> str | None:
    """Where the payer's e-mail goes: the client's address, or the partner's billing address."""
    if payer is Payer.CLIENT and client_id is not None:
        client = account.clients.get(str(client_id))
        return client.email if client else None
    return account.billing_email
