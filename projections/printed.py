"""What a printed invoice and a printed closing document show (issue 17, R-O3, R-O5, R-C7):
filled in from the read models, the invoice as issued and the vendor's profile, then set as a
PDF by projections/pdf.py. Plain values: a document is a pure function of them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from uuid import UUID

from domain.money import Money
from domain.pricing import with_recorded_facts
from domain.values import InvoiceLine, InvoiceLineKind
from domain.vendor import VendorProfile


@dataclass(frozen=True)
class Party:
    """A party to a document: the payer or the customer, with the details it recorded."""

    name: str
    address: tuple[str, ...] = ()
    tax_ids: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class PrintedLine:
    """One line as its event recorded it: what it is, for whom, for when, for how much."""

    kind: str
    """An `InvoiceLineKind` value: product, discount, card_fee or lead."""
    description: str | None
    """The English sentence stored with a line recorded before issue 17: printed only when it
    lacks the facts below (issue 17, item 5); None on lines recorded since."""
    amount_minor: int
    quantity: int = 1
    product_code: str | None = None
    product_name: str | None = None
    """The product's name in the document's language, from the catalogue."""
    unit: str | None = None
    """The product's `PriceUnit` value."""
    location_name: str | None = None
    client_name: str | None = None
    period_start: date | None = None
    period_end: date | None = None
    """Exclusive, as the domain's: the document prints the last day paid for."""
    rate: Decimal | None = None
    """A discount's or card fee's rate (0.10 is 10 %)."""
    term_months: int | None = None
    """A duration discount's term."""
    price_version: str | None = None
    lead_id: UUID | None = None

    @property
    def unit_price_minor(self) -> int:
        """The price of one unit for the line's period: its amount over its quantity (every
        line is recorded with quantity 1 today, so it is the amount, exactly)."""
        return self.amount_minor // self.quantity if self.quantity else self.amount_minor


@dataclass(frozen=True)
class InvoiceDocument:
    """A printed invoice (R-O3, R-O5): seller, payer, lines, totals with tax, how to pay."""

    number: str
    issued_on: date
    due_on: date
    vendor: VendorProfile
    """The vendor's profile in force on the issue date."""
    payer: Party
    lines: tuple[PrintedLine, ...]
    currency: str
    total_minor: int
    paid_minor: int
    outstanding_minor: int
    partner_name: str | None = None
    """The partner the invoice belongs to, when the client pays its own line."""


@dataclass(frozen=True)
class ActDocument:
    """A printed closing document (R-C7): performer, customer, basis, the work, the totals,
    the statement that it was rendered with no claims, and both parties' signatures."""

    number: str
    on: date
    invoice_number: str
    invoice_issued_on: date
    vendor: VendorProfile
    """The vendor's profile in force on the document's date."""
    customer: Party
    client_name: str | None
    lines: tuple[PrintedLine, ...]
    currency: str
    amount_minor: int
    """What the act covers: paid by card, bank or company balance, less refunds and fees."""

    @property
    def amount(self) -> Money:
        return Money(self.amount_minor, self.currency)


def printed_line(
    line: InvoiceLine,
    language: str,
    product_names: Mapping[str, str] | None = None,
    unit: str | None = None,
    client_name: str | None = None,
) -> PrintedLine:
    """An invoice line as its event recorded it, its product named in `language` (else in
    English) from the catalogue's names; the client named on product lines only."""
    names = product_names or {}
    # A discount deferred for a unified invoice before issue 17 reaches a new Invoice.Issued
    # without its rate: its sentence still states it.
    line = with_recorded_facts(line)
    return PrintedLine(
        kind=line.kind.value,
        description=line.description,
        amount_minor=line.amount.amount_minor,
        quantity=line.quantity,
        product_code=line.product_code,
        product_name=names.get(language) or names.get("en"),
        unit=unit,
        location_name=line.location.name if line.location else None,
        client_name=client_name if line.kind is InvoiceLineKind.PRODUCT else None,
        period_start=line.period.start if line.period else None,
        period_end=line.period.end if line.period else None,
        rate=line.rate,
        term_months=line.term_months,
        price_version=line.price_version,
        lead_id=line.lead_id,
    )
