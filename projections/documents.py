"""Closing documents (R-C7, R-C8): which paid invoices may get an act, and the acts requested.

An act of completed work ("акт выполненных работ") covers what was paid for a line by card,
bank (transfer or direct debit) or company balance, net of refunds and of the card fee: the
domain's `Invoice.documentable_amount`, recomputed here in SQL from the payments. Top-ups are
never invoices, so they never appear; bonus payments never count. Every row carries its partner
and every act its client, so one partner's or client's documents never show for another.

A reseller transfer (R-E1) makes the client its new reseller's: `closing_client_owners` names
the reseller that registered the client or took over one of its lines last. An act stays with
the reseller that was billed for the invoice and shows the client as that reseller registered
it, before the move or after. Every row depends only on the events up to its position, never on
how the log was cut into batches or on the order a scan returns a batch's rows in.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import class_row, dict_row

from domain.money import Money
from domain.payment_methods import PaymentSource
from domain.values import InvoiceLineKind
from ledger.sealing import Sealer, reveal
from projections.base import Projection

DOCUMENTABLE_SOURCES = ", ".join(
    f"'{source.value}'" for source in PaymentSource if source.allows_closing_document
)
"""The payment sources an act may cover, as the domain decides them (R-C7)."""

CARD_FEE = InvoiceLineKind.CARD_FEE.value
"""The card fee line is the payer's cost of paying, not work done: no act shows it (R-O7)."""

LINE_FIELDS = """
    ll_text(l.item -> '_data_' -> 'kind'), l.item -> '_data_' ->> 'description',
    (l.item -> '_data_' ->> 'quantity')::integer, ll_minor(l.item -> '_data_' -> 'amount'),
    ll_date(l.item -> '_data_' -> 'period' -> '_data_' -> 'start'),
    ll_date(l.item -> '_data_' -> 'period' -> '_data_' -> 'end'),
    l.item -> '_data_' ->> 'product_code',
    l.item -> '_data_' -> 'location' -> '_data_' ->> 'name',
    ll_uuid(l.item -> '_data_' -> 'lead_id'), ll_text(l.item -> '_data_' -> 'rate')::numeric,
    (l.item -> '_data_' ->> 'term_months')::integer
"""


class ClosingDocuments(Projection):
    """Invoices that may get a closing document, and the documents requested (R-C7, R-C8)."""

    name = "closing_documents"
    version = 3
    """2: a client's record per reseller and its current reseller after a transfer (R-E1);
    3: what each line is (product, location, lead, rate, term), its description only when its
    event stored one (issue 17: lines are worded by their readers)."""
    weight = 3
    reads = (
        "PartnerAccount.Opened",
        "PartnerAccount.ClientRegistered",
        "SubscriptionLine.Created",
        "SubscriptionLine.Transferred",
        "Invoice.Issued",
        "Invoice.CardFeeAdded",
        "Invoice.PaymentReceived",
        "Invoice.PaymentRefunded",
        "Invoice.Settled",
        "Invoice.ClosingDocumentRequested",
    )
    tables = (
        "closing_partners",
        "closing_clients",
        "closing_client_lines",
        "closing_client_owners",
        "closing_invoices",
        "closing_invoice_lines",
        "closing_payments",
        "closing_documents",
    )
    ddl = (
        "CREATE TABLE {schema}.closing_partners (partner_id uuid PRIMARY KEY, name text NOT NULL)",
        # Each reseller's own record of a client: a transfer registers the client again with
        # its new reseller (R-E1), under the name the request gave.
        """
        CREATE TABLE {schema}.closing_clients (
            partner_id uuid NOT NULL,
            client_id uuid NOT NULL,
            name text NOT NULL,
            position bigint NOT NULL,
            PRIMARY KEY (partner_id, client_id)
        )
        """,
        """
        CREATE TABLE {schema}.closing_client_lines (
            line_id uuid PRIMARY KEY,
            client_id uuid NOT NULL
        )
        """,
        """
        CREATE TABLE {schema}.closing_client_owners (
            client_id uuid PRIMARY KEY,
            partner_id uuid NOT NULL,
            position bigint NOT NULL
        )
        """,
        """
        CREATE TABLE {schema}.closing_invoices (
            invoice_id uuid PRIMARY KEY,
            partner_id uuid NOT NULL,
            payer_id uuid NOT NULL,
            client_id uuid,
            number text NOT NULL,
            payer text NOT NULL,
            currency char(3) NOT NULL,
            issued_on date NOT NULL,
            period_start date,
            period_end date,
            settled_on date,
            documentable_minor bigint NOT NULL DEFAULT 0 CHECK (documentable_minor >= 0),
            position bigint NOT NULL
        )
        """,
        "CREATE INDEX ON {schema}.closing_invoices (partner_id, client_id)",
        """
        CREATE TABLE {schema}.closing_invoice_lines (
            invoice_id uuid NOT NULL,
            position bigint NOT NULL,
            item integer NOT NULL,
            kind text NOT NULL,
            description text,
            quantity integer NOT NULL,
            amount_minor bigint NOT NULL,
            period_start date,
            period_end date,
            product_code text,
            location_name text,
            lead_id uuid,
            rate numeric,
            term_months integer,
            PRIMARY KEY (invoice_id, position, item)
        )
        """,
        """
        CREATE TABLE {schema}.closing_payments (
            invoice_id uuid NOT NULL,
            payment_id uuid NOT NULL,
            source text NOT NULL,
            amount_minor bigint NOT NULL,
            fee_minor bigint NOT NULL,
            refunded_minor bigint NOT NULL DEFAULT 0,
            PRIMARY KEY (invoice_id, payment_id)
        )
        """,
        """
        CREATE TABLE {schema}.closing_documents (
            document_id uuid PRIMARY KEY,
            number text NOT NULL UNIQUE,
            invoice_id uuid NOT NULL UNIQUE,
            invoice_number text NOT NULL,
            partner_id uuid NOT NULL,
            client_id uuid,
            client_name text,
            period_start date,
            period_end date,
            amount_minor bigint NOT NULL,
            currency char(3) NOT NULL,
            requested_on date NOT NULL,
            position bigint NOT NULL
        )
        """,
        "CREATE INDEX ON {schema}.closing_documents (partner_id, client_id, requested_on)",
    )
    statements = (
        """
        INSERT INTO {schema}.closing_partners (partner_id, name)
        SELECT originator_id, ll_personal(event -> 'name') FROM batch_events
        WHERE topic = {t_PartnerAccount_Opened} AND position > %(lo)s
        """,
        # Keyed by reseller and client: two resellers' records of one client in one batch no
        # longer conflict, so which survives cannot depend on the order a scan returns them in.
        """
        INSERT INTO {schema}.closing_clients (partner_id, client_id, name, position)
        SELECT originator_id, ll_uuid(event -> 'client_id'), ll_personal(event -> 'name'),
               position
        FROM batch_events
        WHERE topic = {t_PartnerAccount_ClientRegistered} AND position > %(lo)s
        ON CONFLICT (partner_id, client_id) DO NOTHING
        """,
        """
        INSERT INTO {schema}.closing_client_lines (line_id, client_id)
        SELECT originator_id, ll_uuid(event -> 'client_id') FROM batch_events
        WHERE topic = {t_SubscriptionLine_Created} AND position > %(lo)s
        """,
        # The client's reseller is the one of its latest registration or line transfer, by log
        # position: the line's `Created` always comes before its `Transferred`, in this batch
        # (applied by the statement above) or an earlier one.
        """
        INSERT INTO {schema}.closing_client_owners (client_id, partner_id, position)
        SELECT DISTINCT ON (client_id) client_id, partner_id, position
        FROM (
            SELECT ll_uuid(event -> 'client_id') AS client_id, originator_id AS partner_id,
                   position
            FROM batch_events
            WHERE topic = {t_PartnerAccount_ClientRegistered} AND position > %(lo)s
          UNION ALL
            SELECT l.client_id, ll_uuid(b.event -> 'new_partner_id'), b.position
            FROM batch_events b JOIN {schema}.closing_client_lines l ON l.line_id = b.originator_id
            WHERE b.topic = {t_SubscriptionLine_Transferred} AND b.position > %(lo)s
        ) moves
        ORDER BY client_id, position DESC
        ON CONFLICT (client_id) DO UPDATE
        SET partner_id = excluded.partner_id, position = excluded.position
        WHERE closing_client_owners.position < excluded.position
        """,
        """
        INSERT INTO {schema}.closing_invoices (invoice_id, partner_id, payer_id, client_id,
            number, payer, currency, issued_on, period_start, period_end, position)
        SELECT b.originator_id, ll_uuid(b.event -> 'partner_id'), ll_uuid(b.event -> 'payer_id'),
               ll_uuid(b.event -> 'client_id'), b.event ->> 'number', ll_text(b.event -> 'payer'),
               ll_currency(b.event -> 'total'), ll_date(b.event -> 'issued_on'),
               p.period_start, p.period_end, b.position
        FROM batch_events b CROSS JOIN LATERAL (
            SELECT min(ll_date(l -> '_data_' -> 'period' -> '_data_' -> 'start')) AS period_start,
                   max(ll_date(l -> '_data_' -> 'period' -> '_data_' -> 'end')) AS period_end
            FROM ll_items(b.event -> 'lines') AS l
        ) p
        WHERE b.topic = {t_Invoice_Issued} AND b.position > %(lo)s
        """,
        f"""
        INSERT INTO {{schema}}.closing_invoice_lines
        SELECT b.originator_id, b.position, l.ordinality, {LINE_FIELDS}
        FROM batch_events b CROSS JOIN LATERAL ll_items(b.event -> 'lines')
             WITH ORDINALITY AS l(item, ordinality)
        WHERE b.topic = {{t_Invoice_Issued}} AND b.position > %(lo)s
      UNION ALL
        SELECT b.originator_id, b.position, 1, {LINE_FIELDS}
        FROM batch_events b CROSS JOIN LATERAL (SELECT b.event -> 'line' AS item) l
        WHERE b.topic = {{t_Invoice_CardFeeAdded}} AND b.position > %(lo)s
        """,
        """
        INSERT INTO {schema}.closing_payments
            (invoice_id, payment_id, source, amount_minor, fee_minor)
        SELECT originator_id, ll_uuid(event -> 'payment_id'), ll_text(event -> 'source'),
               ll_minor(event -> 'amount'), ll_minor(event -> 'fee')
        FROM batch_events
        WHERE topic = {t_Invoice_PaymentReceived} AND position > %(lo)s
        """,
        """
        UPDATE {schema}.closing_payments p SET refunded_minor = p.refunded_minor + r.amount
        FROM (
            SELECT originator_id AS invoice_id, ll_uuid(event -> 'payment_id') AS payment_id,
                   sum(ll_minor(event -> 'amount')) AS amount
            FROM batch_events
            WHERE topic = {t_Invoice_PaymentRefunded} AND position > %(lo)s
            GROUP BY 1, 2
        ) r
        WHERE p.invoice_id = r.invoice_id AND p.payment_id = r.payment_id
        """,
        # Per payment and never below zero, as the domain: refunding a card fee does not
        # un-document another payment.
        f"""
        UPDATE {{schema}}.closing_invoices i SET documentable_minor = d.amount
        FROM (
            SELECT invoice_id,
                   coalesce(sum(greatest(amount_minor - fee_minor - refunded_minor, 0))
                            FILTER (WHERE source IN ({DOCUMENTABLE_SOURCES})), 0) AS amount
            FROM {{schema}}.closing_payments
            WHERE invoice_id IN (
                SELECT originator_id FROM batch_events
                WHERE topic IN ({{t_Invoice_PaymentReceived}}, {{t_Invoice_PaymentRefunded}})
                  AND position > %(lo)s
            )
            GROUP BY invoice_id
        ) d
        WHERE i.invoice_id = d.invoice_id
        """,
        """
        UPDATE {schema}.closing_invoices i SET settled_on = ll_date(b.event -> 'settled_on')
        FROM batch_events b
        WHERE b.topic = {t_Invoice_Settled} AND b.position > %(lo)s
          AND i.invoice_id = b.originator_id
        """,
        """
        INSERT INTO {schema}.closing_documents
        SELECT ll_uuid(b.event -> 'document_id'), b.event ->> 'document_number', i.invoice_id,
               i.number, i.partner_id, ll_uuid(b.event -> 'client_id'), c.name,
               i.period_start, i.period_end, ll_minor(b.event -> 'amount'),
               ll_currency(b.event -> 'amount'), ll_date(b.event -> 'requested_on'), b.position
        FROM batch_events b
        JOIN {schema}.closing_invoices i ON i.invoice_id = b.originator_id
        LEFT JOIN {schema}.closing_clients c
               ON c.partner_id = i.partner_id AND c.client_id = ll_uuid(b.event -> 'client_id')
              AND c.position < b.position
        WHERE b.topic = {t_Invoice_ClosingDocumentRequested} AND b.position > %(lo)s
        """,
    )


@dataclass(frozen=True)
class DocumentLine:
    """A line of work an act covers: what, how many, for which period, for how much."""

    kind: str
    description: str | None
    """The English sentence of a line recorded before issue 17; None since."""
    quantity: int
    amount_minor: int
    period_start: date | None
    period_end: date | None
    """The day after the last day paid for (periods end exclusive, as the domain's)."""
    product_code: str | None = None
    location_name: str | None = None
    lead_id: UUID | None = None
    rate: Decimal | None = None
    term_months: int | None = None
    product_names: dict[str, str] | None = None
    """The product's names by language, from the catalogue, joined when read."""


@dataclass(frozen=True)
class EligibleInvoice:
    """A paid invoice that may get a closing document and has none yet (R-C7)."""

    invoice_id: UUID
    number: str
    partner_id: UUID
    client_id: UUID | None
    client_name: str | None
    payer: str
    period_start: date | None
    period_end: date | None
    documentable_minor: int
    currency: str
    settled_on: date

    @property
    def documentable(self) -> Money:
        return Money(self.documentable_minor, self.currency)


@dataclass(frozen=True)
class ClosingDocument:
    """An act of completed work requested for a client's paid invoice (R-C7, R-C8)."""

    document_id: UUID
    number: str
    invoice_id: UUID
    invoice_number: str
    partner_id: UUID
    partner_name: str | None
    client_id: UUID | None
    client_name: str | None
    period_start: date | None
    period_end: date | None
    """From the first to the last period of its lines; the end is exclusive, as the domain's."""
    lines: tuple[DocumentLine, ...]
    amount_minor: int
    """What the act covers: paid by card, bank or company balance, less refunds and fees."""
    currency: str
    requested_on: date

    @property
    def amount(self) -> Money:
        return Money(self.amount_minor, self.currency)


DOCUMENT_COLUMNS = """
    d.document_id, d.number, d.invoice_id, d.invoice_number, d.partner_id,
    p.name AS partner_name, d.client_id, d.client_name, d.period_start, d.period_end,
    d.amount_minor, d.currency, d.requested_on
"""


ELIGIBLE = """
    SELECT i.invoice_id, i.number, i.partner_id, i.client_id, c.name AS client_name, i.payer,
           i.period_start, i.period_end, i.documentable_minor, i.currency, i.settled_on
    FROM closing_invoices i
    LEFT JOIN closing_clients c ON c.partner_id = i.partner_id AND c.client_id = i.client_id
    WHERE i.partner_id = %(partner)s AND (%(client)s::uuid IS NULL OR i.client_id = %(client)s)
      AND i.settled_on IS NOT NULL AND i.documentable_minor > 0
      AND NOT EXISTS (SELECT 1 FROM closing_documents d WHERE d.invoice_id = i.invoice_id)
    ORDER BY i.issued_on, i.number
"""


def eligible(
    conn: psycopg.Connection[Any], partner_id: UUID, client_id: UUID | None = None
) -> list[EligibleInvoice]:
    """The partner's (or one client's) paid invoices that may still get a closing document."""
    with conn.cursor(row_factory=class_row(EligibleInvoice)) as cursor:
        return cursor.execute(ELIGIBLE, {"partner": partner_id, "client": client_id}).fetchall()


def document(conn: psycopg.Connection[Any], document_id: UUID) -> ClosingDocument | None:
    """One closing document with its lines, if the read model has seen it."""
    found = _documents(conn, "d.document_id = %(id)s", {"id": document_id})
    return found[0] if found else None


def documents_of(
    conn: psycopg.Connection[Any], partner_id: UUID, client_id: UUID | None = None
) -> list[ClosingDocument]:
    """A partner's closing documents, or only one client's: a client's documents are its own."""
    return _documents(
        conn,
        "d.partner_id = %(partner)s AND (%(client)s::uuid IS NULL OR d.client_id = %(client)s)",
        {"partner": partner_id, "client": client_id},
    )


def documents_page(
    conn: psycopg.Connection[Any],
    partner_id: UUID,
    client_id: UUID | None = None,
    *,
    limit: int,
    after: tuple[date, str] | None = None,
) -> list[ClosingDocument]:
    """Up to `limit` of `documents_of`, in its order, after the (requested_on, number) of the
    previous page's last document (keyset)."""
    return _documents(
        conn,
        "d.partner_id = %(partner)s AND (%(client)s::uuid IS NULL OR d.client_id = %(client)s) "
        "AND (%(on)s::date IS NULL OR (d.requested_on, d.number) > (%(on)s, %(number)s))",
        {
            "partner": partner_id,
            "client": client_id,
            "on": after[0] if after else None,
            "number": after[1] if after else None,
        },
        limit=limit,
    )


def _documents(
    conn: psycopg.Connection[Any], where: str, params: dict[str, Any], *, limit: int | None = None
) -> list[ClosingDocument]:
    with conn.cursor(row_factory=dict_row) as cursor:
        rows = cursor.execute(
            f"SELECT {DOCUMENT_COLUMNS} FROM closing_documents d "
            f"LEFT JOIN closing_partners p ON p.partner_id = d.partner_id "
            f"WHERE {where} ORDER BY d.requested_on, d.number LIMIT %(limit)s",
            {**params, "limit": limit},
        ).fetchall()
    lines = _lines(conn, [row["invoice_id"] for row in rows])
    return [ClosingDocument(**row, lines=tuple(lines[row["invoice_id"]])) for row in rows]


def _lines(
    conn: psycopg.Connection[Any], invoice_ids: list[UUID]
) -> dict[UUID, list[DocumentLine]]:
    rows = conn.execute(
        "SELECT l.invoice_id, l.kind, l.description, l.quantity, l.amount_minor, "
        "l.period_start, l.period_end, l.product_code, l.location_name, l.lead_id, l.rate, "
        "l.term_months, p.names "
        "FROM closing_invoice_lines l LEFT JOIN products p ON p.code = l.product_code "
        "WHERE l.invoice_id = ANY(%s) AND l.kind <> %s "
        "ORDER BY l.invoice_id, l.position, l.item",
        (invoice_ids, CARD_FEE),
    ).fetchall()
    by_invoice: dict[UUID, list[DocumentLine]] = defaultdict(list)
    for invoice_id, *line in rows:
        by_invoice[invoice_id].append(DocumentLine(*line))
    return by_invoice


def revealed(found: ClosingDocument, sealer: Sealer | None) -> ClosingDocument:
    """The document with the names its read model copied sealed opened (ledger/sealing.py)."""
    return dataclasses.replace(
        found,
        partner_name=reveal(sealer, found.partner_name),
        client_name=reveal(sealer, found.client_name),
    )


def client_partner(conn: psycopg.Connection[Any], client_id: UUID) -> UUID | None:
    """The client's reseller, once this read model has seen it: the one that registered it,
    or after a transfer of its line the new one (R-E1, R-C8)."""
    row = conn.execute(
        "SELECT partner_id FROM closing_client_owners WHERE client_id = %s", (client_id,)
    ).fetchone()
    return row[0] if row else None
