"""What a what-if found: per partner, the figures that would differ, and the invoices.

The same queries read the live generations and the scratch copies, so a history decided
again under unchanged rules reads exactly what the live read models hold: no difference.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql

INVOICES_SHOWN_MAX = 20
"""Invoices listed per partner: enough to see which ones moved and by how much; the figures
above them count them all."""

FIGURES = (
    "invoiced_minor",
    "discounts_minor",
    "card_fees_minor",
    "paid_minor",
    "outstanding_minor",
    "cashback_minor",
    "company_balance_minor",
    "receivable_minor",
    "bonus_wallet_minor",
)
"""What is compared per partner and currency, in minor units: the invoices' totals (R-O3),
their duration discounts (R-C3) and card fees (R-O7), what was paid and what is owed, the
cashback earned (R-C4), and the balances: company balance (R-C2), receivable (what the
partner and its clients owe), bonus wallet (R-C5)."""

_JOURNAL = """
SELECT partner_id, currency,
  coalesce(sum(CASE side WHEN 'debit' THEN amount_minor ELSE -amount_minor END)
    FILTER (WHERE account_kind = 'discounts'), 0),
  coalesce(sum(CASE side WHEN 'credit' THEN amount_minor ELSE -amount_minor END)
    FILTER (WHERE account_kind = 'card_fee_revenue'), 0),
  coalesce(sum(CASE side WHEN 'credit' THEN amount_minor ELSE -amount_minor END)
    FILTER (WHERE account_kind = 'prepaid_balance' AND owner_id = partner_id), 0),
  coalesce(sum(CASE side WHEN 'debit' THEN amount_minor ELSE -amount_minor END)
    FILTER (WHERE account_kind = 'receivable'), 0),
  coalesce(sum(CASE side WHEN 'credit' THEN amount_minor ELSE -amount_minor END)
    FILTER (WHERE account_kind = 'bonus_liability' AND owner_id = partner_id), 0)
FROM {schema}.journal WHERE %(partner)s::uuid IS NULL OR partner_id = %(partner)s
GROUP BY partner_id, currency
"""
_INVOICES = """
SELECT invoice_id, partner_id, currency, number, total_minor, paid_minor, outstanding_minor
FROM {schema}.invoices WHERE %(partner)s::uuid IS NULL OR partner_id = %(partner)s
"""
_CASHBACK = """
SELECT partner_id, currency, sum(earned_minor) FROM {schema}.cashback_earnings
WHERE reason = 'cashback' AND (%(partner)s::uuid IS NULL OR partner_id = %(partner)s)
GROUP BY partner_id, currency
"""


@dataclass(frozen=True)
class FigureChange:
    """One figure of a partner: what the live read models hold, and what the proposal makes."""

    name: str
    live_minor: int
    what_if_minor: int

    @property
    def difference_minor(self) -> int:
        return self.what_if_minor - self.live_minor


@dataclass(frozen=True)
class InvoiceChange:
    """An invoice whose total, payments or amount owed the proposal changes."""

    invoice_id: UUID
    number: str
    total: FigureChange
    paid: FigureChange
    outstanding: FigureChange


@dataclass(frozen=True)
class PartnerDifference:
    """What the proposal changes for one partner, in one currency."""

    partner_id: UUID
    currency: str
    figures: tuple[FigureChange, ...]
    """Only the figures that differ."""
    invoices: tuple[InvoiceChange, ...]
    """The first INVOICES_SHOWN_MAX invoices that differ, by number."""
    invoices_changed: int


@dataclass(frozen=True)
class Comparison:
    partners: int
    differences: tuple[PartnerDifference, ...]


@dataclass(frozen=True)
class WhatIf:
    """A what-if's answer: what was proposed, over which history, and what would differ."""

    changes: dict[str, str]
    prices: dict[str, int]
    """Proposed unit prices in minor units, by `code@CUR`."""
    from_day: date | None
    partner_id: UUID | None
    position: int
    """The log position the live read models (and so the what-if) had reached."""
    events_read: int
    events_redecided: int
    """Events the proposal changed, added or removed in the scratch copy."""
    partners: int
    """Partners compared: those with money in the read models (an invoice, an entry)."""
    differences: tuple[PartnerDifference, ...]

    @property
    def empty(self) -> bool:
        return not self.differences

    def as_json(self) -> dict[str, Any]:
        """One JSON document for machines; amounts in minor units."""
        return {
            "changes": self.changes,
            "prices": self.prices,
            "from": self.from_day.isoformat() if self.from_day else None,
            "partner_id": str(self.partner_id) if self.partner_id else None,
            "position": self.position,
            "events_read": self.events_read,
            "events_redecided": self.events_redecided,
            "partners_compared": self.partners,
            "differences": [
                {
                    "partner_id": str(d.partner_id),
                    "currency": d.currency,
                    "figures": {f.name: _figure(f) for f in d.figures},
                    "invoices_changed": d.invoices_changed,
                    "invoices": [
                        {
                            "invoice_id": str(i.invoice_id),
                            "number": i.number,
                            "total_minor": _figure(i.total),
                            "paid_minor": _figure(i.paid),
                            "outstanding_minor": _figure(i.outstanding),
                        }
                        for i in d.invoices
                    ],
                }
                for d in self.differences
            ],
        }


def _figure(change: FigureChange) -> dict[str, int]:
    return {
        "live": change.live_minor,
        "what_if": change.what_if_minor,
        "difference": change.difference_minor,
    }


Key = tuple[UUID, str]


def _figures(
    conn: psycopg.Connection[Any], schemas: dict[str, str], partner_id: UUID | None
) -> tuple[dict[Key, dict[str, int]], dict[UUID, tuple[Any, ...]]]:
    """Each partner's figures per currency, and each invoice, from one set of tables."""

    def rows(query: str, schema: str) -> list[tuple[Any, ...]]:
        return conn.execute(
            sql.SQL(query).format(schema=sql.Identifier(schema)), {"partner": partner_id}
        ).fetchall()

    figures: dict[Key, dict[str, int]] = {}

    def of(partner: Any, currency: Any) -> dict[str, int]:
        key = (UUID(str(partner)), str(currency).strip())
        return figures.setdefault(key, dict.fromkeys(FIGURES, 0))

    for partner, currency, discounts, fees, balance, receivable, wallet in rows(
        _JOURNAL, schemas["balances"]
    ):
        found = of(partner, currency)
        found["discounts_minor"] = int(discounts)
        found["card_fees_minor"] = int(fees)
        found["company_balance_minor"] = int(balance)
        found["receivable_minor"] = int(receivable)
        found["bonus_wallet_minor"] = int(wallet)
    invoices = {}
    for row in rows(_INVOICES, schemas["invoices"]):
        invoice_id, partner, currency, _, total, paid, outstanding = row
        invoices[UUID(str(invoice_id))] = row
        found = of(partner, currency)
        found["invoiced_minor"] += int(total)
        found["paid_minor"] += int(paid)
        found["outstanding_minor"] += int(outstanding)
    for partner, currency, earned in rows(_CASHBACK, schemas["cashback"]):
        of(partner, currency)["cashback_minor"] = int(earned)
    return figures, invoices


def compare(
    conn: psycopg.Connection[Any],
    live_schemas: dict[str, str],
    scratch: str,
    partner_id: UUID | None,
) -> Comparison:
    """Each partner's figures and invoices, live against scratch, where they differ."""
    live, live_invoices = _figures(conn, live_schemas, partner_id)
    proposed, proposed_invoices = _figures(conn, dict.fromkeys(live_schemas, scratch), partner_id)
    zero = dict.fromkeys(FIGURES, 0)
    differences = []
    for key in sorted(set(live) | set(proposed), key=str):
        before, after = live.get(key, zero), proposed.get(key, zero)
        changed = [
            FigureChange(name, before[name], after[name])
            for name in FIGURES
            if before[name] != after[name]
        ]
        invoices = _invoice_changes(key, live_invoices, proposed_invoices)
        if changed or invoices:
            differences.append(
                PartnerDifference(
                    key[0],
                    key[1],
                    tuple(changed),
                    tuple(invoices[:INVOICES_SHOWN_MAX]),
                    len(invoices),
                )
            )
    return Comparison(len({partner for partner, _ in live | proposed}), tuple(differences))


def _invoice_changes(
    key: Key, live: dict[UUID, tuple[Any, ...]], proposed: dict[UUID, tuple[Any, ...]]
) -> list[InvoiceChange]:
    changes = []
    for invoice_id in set(live) | set(proposed):
        before, after = live.get(invoice_id), proposed.get(invoice_id)
        row = before or after
        assert row is not None  # noqa: S101 - the id came from one of the two
        if (UUID(str(row[1])), str(row[2]).strip()) != key:
            continue
        old = [int(v) for v in before[4:7]] if before else [0, 0, 0]
        new = [int(v) for v in after[4:7]] if after else [0, 0, 0]
        if old != new:
            total, paid, outstanding = (
                FigureChange(name, o, n)
                for name, o, n in zip(
                    ("total_minor", "paid_minor", "outstanding_minor"), old, new, strict=True
                )
            )
            changes.append(InvoiceChange(invoice_id, str(row[3]), total, paid, outstanding))
    return sorted(changes, key=lambda change: change.number)
