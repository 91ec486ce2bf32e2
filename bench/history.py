"""A realistic event log, made fast: the domain's own aggregates, copied into the store.

Partners with clients, seat and plan lines renewing monthly, invoices paid by card, bank
transfer, company balance and bonuses, declined cards, overdue cash, refunds, credit notes,
voids, pay-per-lead lines with weekly lead invoices, cashback and transfers between
resellers. Every event is made by the aggregates' command methods, so every event is one the
ledger could have written; they are encoded by the ledger's mapper and copied into
`ledger_events` with COPY, far faster than running commands.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import Mapper

from domain.bonus_wallet import BonusWallet, CreditReason
from domain.calendar import Anchor, Term
from domain.invoice import Invoice, InvoiceKind
from domain.money import Money
from domain.partner_account import PartnerAccount
from domain.payment_methods import CardBrand, CardToken, PaymentSource
from domain.pricing import BillingPolicy, PriceUnit, Product, cashback_for, subscription_lines
from domain.subscription_line import SubscriptionLine, TransferParty, TransferRequest
from domain.values import InvoiceLine, InvoiceLineKind, Location, Payer
from ledger.store import EVENTS_TABLE

START = datetime(2025, 1, 1, 9, tzinfo=UTC)
POLICY = BillingPolicy()
SEAT = Product("pos-location", "POS integration", PriceUnit.PER_LOCATION, Money(4900, "USD"))
PLAN = Product("email-signatures", "E-mail signatures", PriceUnit.PER_LINE, Money(2500, "USD"))
LEAD = Product("lead", "Lead", PriceUnit.PER_LEAD, Money(3500, "USD"))
CARD = CardToken("sim_card_ok_bench", CardBrand.VISA, "4242", 12, 2035, "Bench Partner")


class Generator:
    """Makes events until it has made `target` of them."""

    def __init__(self, seed: int, target: int) -> None:
        self.rng = random.Random(seed)
        self.target = target
        self.made = 0
        self.numbers = (seed % 10) * 1_000_000  # document numbers of two seeds never meet

    def uuid(self) -> UUID:
        return UUID(int=self.rng.getrandbits(128), version=4)

    def events(self) -> Iterator[Any]:
        """Events in the order they happened, partner after partner, month after month."""
        while self.made < self.target:
            for event in self._partner():
                self.made += 1
                yield event
                if self.made >= self.target:
                    return

    def _number(self, series: str, on: date) -> str:
        self.numbers += 1
        return f"{series}-{on.year}-{self.numbers:07d}"

    def _partner(self) -> Iterator[Any]:
        rng = self.rng
        now = START + timedelta(days=rng.randrange(0, 60), hours=rng.randrange(0, 8))
        account = PartnerAccount.open(
            partner_id=self.uuid(),
            name=f"Partner {self.made}",
            currency="USD",
            time_zone=rng.choice(["UTC", "America/New_York", "Europe/Madrid"]),
            now=now,
            anchor=rng.choice([Anchor.CALENDAR, Anchor.ANNIVERSARY]),
        )
        account.add_payment_method(self.uuid(), CARD, make_default=True, now=now)
        account.top_up(
            self.uuid(),
            Money(rng.randrange(50_000, 500_000), "USD"),
            PaymentSource.BANK_TRANSFER,
            now,
            "wire",
        )
        wallet = BonusWallet.open(account.id, "USD", now)
        lines: list[SubscriptionLine] = []
        for _ in range(rng.randint(2, 6)):
            client = self.uuid()
            account.register_client(
                client, f"Client {self.made}", "client@example.com", rng.random() < 0.5, now
            )
            product = rng.choice([SEAT, PLAN, PLAN, LEAD])
            line = SubscriptionLine.create(
                line_id=self.uuid(),
                partner_id=account.id,
                client_id=client,
                product=product,
                term=Term.MONTHLY,
                anchor=Anchor.ANNIVERSARY,
                payer=Payer.CLIENT if rng.random() < 0.3 else Payer.PARTNER,
                unified_billing=False,
                locations=[Location(self.uuid(), f"Site {n}") for n in range(rng.randint(1, 4))]
                if product is SEAT
                else [],
                now=now,
            )
            line.activate(now.date(), now.date(), now)
            lines.append(line)
        yield from account.collect_events()
        yield from wallet.collect_events()
        for line in lines:
            yield from line.collect_events()
        for month in range(rng.randint(6, 18)):
            when = now + timedelta(days=30 * month)
            for line in lines:
                yield from self._month(account, wallet, line, when)
            yield from account.collect_events()
            yield from wallet.collect_events()
        if lines and rng.random() < 0.2 and not lines[0].open_invoices:
            yield from self._transfer(lines[0], now + timedelta(days=600))

    def _month(
        self, account: PartnerAccount, wallet: BonusWallet, line: SubscriptionLine, now: datetime
    ) -> Iterator[Any]:
        rng = self.rng
        today = now.date()
        if line.unit is PriceUnit.PER_LEAD:
            for _ in range(rng.randint(2, 8)):
                line.record_lead(self.uuid(), LEAD.unit_price, today, now)
            items = [
                InvoiceLine(InvoiceLineKind.LEAD, price, line_id=line.id, lead_id=UUID(lead_id))
                for lead_id, price in line.unbilled_leads.items()
            ]
        else:
            period = line.next_period
            items = subscription_lines(
                Product(line.product_code, line.product_name, line.unit, line.unit_price),
                line.id,
                list(line.locations.values()),
                line.term,
                period,
                line.anchor_day or period.start.day,
                POLICY,
            )
            line.renew(line.next_period.start, now.date(), now)
        source = rng.choice(
            [
                PaymentSource.CARD,
                PaymentSource.BANK_TRANSFER,
                PaymentSource.COMPANY_BALANCE,
                PaymentSource.CASH,
            ]
        )
        invoice = Invoice.issue(
            invoice_id=self.uuid(),
            partner_id=account.id,
            number=self._number("INV", today),
            kind=InvoiceKind.LEADS if line.unit is PriceUnit.PER_LEAD else InvoiceKind.SUBSCRIPTION,
            payer=line.payer,
            client_id=line.client_id,
            lines=items,
            issued_on=today,
            due_on=today + timedelta(days=14),
            expected_source=source,
            line_ids=[line.id],
            now=now,
        )
        line.record_invoice(invoice.id, invoice.number, invoice.total, None, now)
        if line.unit is PriceUnit.PER_LEAD:
            line.record_leads_invoiced(invoice.id, [i.lead_id for i in items if i.lead_id], now)
        roll = rng.random()
        if source is PaymentSource.CARD and roll < 0.1:
            invoice.record_failed_payment(
                payment_id=self.uuid(),
                source=source,
                amount=invoice.total,
                decline_code="card_declined",
                reason="The card was declined.",
                on=today,
                now=now,
            )
            account.record_missed_payment(invoice.id, 7, now, today)
        elif source is PaymentSource.CASH and roll < 0.3:
            invoice.mark_overdue(today + timedelta(days=15), now)
        elif roll < 0.04 and not invoice.payments:
            invoice.void("issued twice", today, now)
            line.record_invoice_voided(invoice.id, now)
        else:
            yield from self._pay(account, wallet, line, invoice, source, today, now)
        yield from invoice.collect_events()
        yield from line.collect_events()

    def _pay(
        self,
        account: PartnerAccount,
        wallet: BonusWallet,
        line: SubscriptionLine,
        invoice: Invoice,
        source: PaymentSource,
        today: date,
        now: datetime,
    ) -> Iterator[Any]:
        rng = self.rng
        payment_id = self.uuid()
        if source is PaymentSource.CARD:
            amount, fee = invoice.card_charge(POLICY)
            invoice.record_payment(
                payment_id=payment_id,
                source=source,
                amount=amount,
                fee_line=fee,
                on=today,
                now=now,
                reference="ch_bench",
            )
        elif source is PaymentSource.COMPANY_BALANCE and account.balance >= invoice.total:
            account.spend_balance(payment_id, invoice.total, invoice.id, now)
            invoice.record_payment(
                payment_id=payment_id, source=source, amount=invoice.total, on=today, now=now
            )
        elif wallet.balance >= invoice.total and rng.random() < 0.3:
            wallet.spend(payment_id, invoice.total, invoice.id, today, now)
            invoice.record_payment(
                payment_id=payment_id,
                source=PaymentSource.BONUS,
                amount=invoice.total,
                on=today,
                now=now,
            )
        else:
            invoice.record_payment(
                payment_id=payment_id,
                source=PaymentSource.BANK_TRANSFER,
                amount=invoice.total,
                on=today,
                now=now,
                reference="wire",
            )
        line.record_invoice_settled(invoice.id, now)
        account.record_missed_payment_settled(invoice.id, now)
        payment = invoice.payments[str(payment_id)]
        if invoice.payer is Payer.CLIENT and payment.source not in (
            PaymentSource.COMPANY_BALANCE,
            PaymentSource.BONUS,
        ):
            earned = cashback_for(payment.amount - payment.fee, POLICY)
            if earned.is_positive():
                wallet.credit(
                    credit_id=self.uuid(),
                    amount=earned,
                    reason=CreditReason.CASHBACK,
                    on=today,
                    now=now,
                    payment_id=payment_id,
                    client_id=line.client_id,
                )
        if payment.source.is_refundable and rng.random() < 0.05:
            amount = Money(max(1, payment.refundable.amount_minor // 2), "USD")
            invoice.refund(
                refund_id=self.uuid(),
                payment_id=payment_id,
                amount=amount,
                reason="goodwill",
                on=today,
                now=now,
            )
            if payment.source is PaymentSource.COMPANY_BALANCE:
                account.restore_balance(self.uuid(), amount, invoice.id, now)
            if invoice.payer is Payer.CLIENT:
                wallet.claw_back(
                    clawback_id=self.uuid(),
                    payment_id=payment_id,
                    due=cashback_for(amount, POLICY),
                    on=today,
                    now=now,
                )
        elif rng.random() < 0.03:
            invoice.issue_credit_note(
                credit_note_id=self.uuid(),
                number=self._number("CN", today),
                amount=Money(100, "USD"),
                reason="goodwill",
                on=today,
                now=now,
            )
        elif payment.source.allows_closing_document and rng.random() < 0.2:
            invoice.request_closing_document(self.uuid(), self._number("ACT", today), today, now)
        yield from ()

    def _transfer(self, line: SubscriptionLine, now: datetime) -> Iterator[Any]:
        if line.status.value != "active":
            return
        receiving = PartnerAccount.open(
            partner_id=self.uuid(),
            name="Receiving reseller",
            currency="USD",
            time_zone="UTC",
            now=now,
        )
        request = TransferRequest(
            end_user_name="Client",
            current_reseller_id=line.partner_id,
            new_reseller_id=receiving.id,
            preferred_date=now.date() + timedelta(days=3),
            owner_email="owner@example.com",
            invoice_email="ap@example.com",
            billing=Term.MONTHLY,
            payment_method=PaymentSource.BANK_TRANSFER,
        )
        line.request_transfer(request, list(TransferParty), now.date(), POLICY, now)
        line.complete_transfer(now.date() + timedelta(days=10), now)
        yield from receiving.collect_events()
        yield from line.collect_events()


def load(conn: psycopg.Connection[Any], mapper: Mapper[UUID], seed: int, events: int) -> int:
    """Copy a generated log of about `events` events into the store; return how many."""
    written = 0
    with (
        conn.cursor() as cur,
        cur.copy(
            f"COPY {EVENTS_TABLE} (originator_id, originator_version, topic, state) FROM STDIN"
        ) as copy,
    ):
        for event in Generator(seed, events).events():
            stored = mapper.to_stored_event(event)
            copy.write_row(
                (stored.originator_id, stored.originator_version, stored.topic, stored.state)
            )
            written += 1
    return written
