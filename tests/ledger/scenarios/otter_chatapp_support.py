"""Helpers for the Otter and ChatApp scenarios: the log decoded, its invoices, double entry."""

from __future__ import annotations

from collections import defaultdict
from functools import cache
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from domain.bonus_wallet import BonusWallet
from domain.calendar import BillingPeriod
from domain.invoice import Invoice
from domain.payment_methods import PaymentSource
from domain.postings import AccountKind, entries_for, imbalance
from domain.values import InvoiceLine, InvoiceLineKind, bonus_wallet_id
from ledger.application import Ledger
from ledger.catalogue import load_catalogue
from ledger.database import Database
from ledger.wording import words_in


def logged_events(ledger: Ledger, database: Database) -> list[Any]:
    """Every event in the store, decoded, in log order."""
    with database.connect() as conn:
        rows = conn.execute(
            "SELECT originator_id, originator_version, topic, state FROM ledger_events "
            "ORDER BY notification_id"
        ).fetchall()
    return [
        ledger.mapper.to_domain_event(
            StoredEvent(
                originator_id=UUID(str(originator_id)),
                originator_version=version,
                topic=topic,
                state=bytes(state),
            )
        )
        for originator_id, version, topic, state in rows
    ]


def issued(ledger: Ledger, database: Database, partner_id: UUID) -> list[Invoice]:
    """A partner's invoices as they are now, in the order they were issued (R-O5)."""
    return [
        ledger.invoice(event.originator_id)
        for event in logged_events(ledger, database)
        if isinstance(event, Invoice.Issued) and event.partner_id == partner_id
    ]


def of_line(invoices: list[Invoice], line_id: UUID) -> list[Invoice]:
    return [found for found in invoices if line_id in found.line_ids]


def emails(database: Database, kind: str) -> list[tuple[str, str, str]]:
    """Recipient, subject and body of each e-mail of a kind in the outbox, oldest first."""
    with database.connect() as conn:
        rows = conn.execute(
            "SELECT recipient, subject, body FROM outbox WHERE kind = %s ORDER BY id", (kind,)
        ).fetchall()
    return [(str(to), str(subject), str(body)) for to, subject, body in rows]


def assert_double_entry(ledger: Ledger, database: Database, partner_ids: list[UUID]) -> None:
    """R-X2: the whole log balances per currency, and the owned accounts match the aggregates."""
    entries = [entry for event in logged_events(ledger, database) for entry in entries_for(event)]
    assert entries, "no money moved"
    assert imbalance(entries) == {}
    signed: dict[str, int] = defaultdict(int)
    for entry in entries:
        signed[entry.account.code] += entry.signed_minor
    assert signed[AccountKind.INTERNAL_TRANSFERS.value] == 0
    for partner_id in partner_ids:
        account = ledger.partner_account(partner_id)
        wallet = ledger.load(BonusWallet, bonus_wallet_id(partner_id))
        # Liabilities are credit balances: their signed sum is minus what the partner holds.
        prepaid = -signed[f"{AccountKind.PREPAID_BALANCE.value}:{partner_id}"]
        bonuses = -signed[f"{AccountKind.BONUS_LIABILITY.value}:{partner_id}"]
        assert prepaid == account.balance.amount_minor
        assert bonuses == (0 if wallet is None else wallet.balance.amount_minor)


def account_total(ledger: Ledger, database: Database, code: str) -> int:
    """Debits minus credits posted to one account of the chart over the whole log."""
    return sum(
        entry.signed_minor
        for event in logged_events(ledger, database)
        for entry in entries_for(event)
        if entry.account.code == code
    )


@cache
def _english_names() -> dict[str, dict[str, str]]:
    return {product.code: {"en": product.name} for product in load_catalogue().products.values()}


def worded(line: InvoiceLine) -> str:
    """A line as an English reader reads it: worded from what it records, its product named
    by the shipped catalogue (issue 17: the line itself stores no sentence)."""
    assert line.description is None
    return words_in("en").invoice_line(line, _english_names().get(line.product_code or ""))


def products(invoice: Invoice) -> list[tuple[str, int, BillingPeriod | None]]:
    """The product lines of an invoice: what, how much (minor units), for which period."""
    return sorted(
        (worded(line), line.amount.amount_minor, line.period)
        for line in invoice.lines
        if line.kind is InvoiceLineKind.PRODUCT
    )


def card_fees(invoice: Invoice) -> list[tuple[str, int]]:
    """The card fee lines of an invoice (R-O7)."""
    return [
        (worded(line), line.amount.amount_minor)
        for line in invoice.lines
        if line.kind is InvoiceLineKind.CARD_FEE
    ]


def payments(invoice: Invoice) -> list[tuple[PaymentSource, int, int]]:
    """Each payment's source, amount and the part of it that paid a card fee (minor units)."""
    paid = invoice.payments.values()
    return [(p.source, p.amount.amount_minor, p.fee.amount_minor) for p in paid]


def query(database: Database, sql: str, *params: object) -> list[tuple[Any, ...]]:
    """Rows of a read-only query on the test's database."""
    with database.connect() as conn:
        return [tuple(row) for row in conn.execute(sql, params).fetchall()]
