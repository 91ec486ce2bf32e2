"""Invoice history (R-O3, R-O5, R-X6, R-H2).

`InvoiceHistory` keeps every invoice a partner or client was ever sent, line by line, with
every payment, pending debit, declined charge, refund and credit note, so any invoice can be
fetched again (R-O5) and corrections show as what they are: a void or a credit note, never an
edit (R-X6). An invoice's figures are recomputed from its own lines, payments and credit notes
each time one of its events arrives, so several events of one invoice in one batch (issued,
charged, settled) give what they give one by one.

Offline payments a payer announced are kept apart, in `invoice_announcements`, waiting until
the vendor confirms them (R-H2): no figure reads that table, so announced money never counts as
paid. A confirmation is the payment received with the announcement's payment id; that payment
is what counts, once.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.rows import class_row

from projections.base import Projection

PAGE_SIZE_MAX = 200
"""Invoices per page: a year of weekly lead invoices, small enough for one response."""

INVOICE_TOPICS = """
    {t_Invoice_Issued}, {t_Invoice_CardFeeAdded}, {t_Invoice_PaymentReceived},
    {t_Invoice_PaymentPending}, {t_Invoice_PaymentFailed}, {t_Invoice_Settled},
    {t_Invoice_MarkedOverdue}, {t_Invoice_PaymentRefunded}, {t_Invoice_Voided},
    {t_Invoice_CreditNoteIssued}
"""
INVOICE_EVENTS = (
    "Invoice.Issued",
    "Invoice.CardFeeAdded",
    "Invoice.PaymentReceived",
    "Invoice.PaymentPending",
    "Invoice.PaymentFailed",
    "Invoice.Settled",
    "Invoice.MarkedOverdue",
    "Invoice.PaymentRefunded",
    "Invoice.Voided",
    "Invoice.CreditNoteIssued",
)
HISTORY_TOPICS = INVOICE_TOPICS + ", {t_Invoice_PaymentAnnounced}"
"""An announcement changes an invoice's history (its position moves), not what it owes: the
banners, which share `INVOICE_TOPICS`, do not read it."""
TOUCHED = (
    "SELECT originator_id FROM batch_events WHERE position > %(lo)s AND topic IN ("
    + INVOICE_TOPICS
    + ")"
)
"""The invoices the batch changes."""


class InvoiceHistory(Projection):
    """Every invoice with its lines, payments, refunds and credit notes (R-O3, R-O5, R-X6)."""

    name = "invoices"
    version = 5
    """2: offline payments announced and their confirmation (`invoice_announcements`);
    3: each line's price version and partner override (issue 13); 4: the policy version of
    discount and card-fee lines (issue 13); 5: a line's rate and term, its description only
    when its event stored one (issue 17: lines are worded by their readers)."""
    weight = 4
    reads = (*INVOICE_EVENTS, "Invoice.PaymentAnnounced")
    tables = (
        "invoices",
        "invoice_lines",
        "invoice_payments",
        "invoice_announcements",
        "credit_notes",
    )
    ddl = (
        """
        CREATE TABLE {schema}.invoices (
            invoice_id uuid PRIMARY KEY,
            partner_id uuid NOT NULL,
            payer_id uuid NOT NULL,
            payer text NOT NULL,
            client_id uuid,
            number text NOT NULL,
            kind text NOT NULL,
            status text NOT NULL CHECK (status IN ('open', 'settled', 'void')),
            currency char(3) NOT NULL,
            total_minor bigint NOT NULL,
            paid_minor bigint NOT NULL DEFAULT 0,
            credited_minor bigint NOT NULL DEFAULT 0,
            refunded_minor bigint NOT NULL DEFAULT 0,
            outstanding_minor bigint NOT NULL,
            pending_debits_minor bigint NOT NULL DEFAULT 0,
            issued_on date NOT NULL,
            due_on date NOT NULL,
            expected_source text,
            overdue boolean NOT NULL DEFAULT false,
            failed boolean NOT NULL DEFAULT false,
            last_decline_code text,
            last_decline_reason text,
            last_failed_on date,
            marked_overdue_on date,
            settled_on date,
            voided_on date,
            void_reason text,
            line_ids uuid[] NOT NULL,
            position bigint NOT NULL
        )
        """,
        "CREATE INDEX ON {schema}.invoices (partner_id, issued_on, number)",
        "CREATE INDEX ON {schema}.invoices (partner_id, client_id, issued_on, number)",
        """
        CREATE TABLE {schema}.invoice_lines (
            invoice_id uuid NOT NULL,
            line_no integer NOT NULL,
            kind text NOT NULL,
            description text,
            quantity integer NOT NULL,
            amount_minor bigint NOT NULL,
            currency char(3) NOT NULL,
            product_code text,
            line_id uuid,
            location_id uuid,
            location_name text,
            period_start date,
            period_end date,
            lead_id uuid,
            position bigint NOT NULL,
            price_version text,
            price_override text,
            policy_version integer,
            rate numeric,
            term_months integer,
            PRIMARY KEY (invoice_id, line_no)
        )
        """,
        """
        CREATE TABLE {schema}.invoice_payments (
            position bigint PRIMARY KEY,
            invoice_id uuid NOT NULL,
            what text NOT NULL CHECK (what IN ('payment', 'pending', 'failed', 'refund')),
            payment_id uuid NOT NULL,
            refund_id uuid,
            source text NOT NULL,
            amount_minor bigint NOT NULL,
            fee_minor bigint NOT NULL,
            currency char(3) NOT NULL,
            occurred_on date NOT NULL,
            reference text,
            note text,
            decline_code text,
            reason text
        )
        """,
        "CREATE INDEX ON {schema}.invoice_payments (invoice_id, position)",
        """
        CREATE TABLE {schema}.invoice_announcements (
            invoice_id uuid NOT NULL,
            payment_id uuid NOT NULL,
            source text NOT NULL,
            amount_minor bigint NOT NULL,
            currency char(3) NOT NULL,
            reference text NOT NULL,
            announced_on date NOT NULL,
            confirmed_on date,
            position bigint NOT NULL,
            PRIMARY KEY (invoice_id, payment_id)
        )
        """,
        """
        CREATE TABLE {schema}.credit_notes (
            credit_note_id uuid PRIMARY KEY,
            number text NOT NULL,
            invoice_id uuid NOT NULL,
            amount_minor bigint NOT NULL,
            currency char(3) NOT NULL,
            reason text NOT NULL,
            issued_on date NOT NULL,
            position bigint NOT NULL
        )
        """,
        "CREATE INDEX ON {schema}.credit_notes (invoice_id)",
    )
    statements = (
        # New invoices first, so every later change of the batch finds its row.
        """
        INSERT INTO {schema}.invoices (
            invoice_id, partner_id, payer_id, payer, client_id, number, kind, status, currency,
            total_minor, outstanding_minor, issued_on, due_on, expected_source, line_ids,
            position)
        SELECT originator_id, ll_uuid(event -> 'partner_id'), ll_uuid(event -> 'payer_id'),
               ll_text(event -> 'payer'), ll_uuid(event -> 'client_id'), event ->> 'number',
               ll_text(event -> 'kind'), 'open', ll_currency(event -> 'total'),
               ll_minor(event -> 'total'), ll_minor(event -> 'total'),
               ll_date(event -> 'issued_on'), ll_date(event -> 'due_on'),
               ll_text(event -> 'expected_source'),
               ARRAY(SELECT ll_uuid(x.id) FROM ll_items(event -> 'line_ids')
                     WITH ORDINALITY AS x(id, n) ORDER BY x.n),
               position
        FROM batch_events WHERE topic = {t_Invoice_Issued} AND position > %(lo)s
        """,
        # Issued lines, then card fee lines, numbered on after what the invoice already has.
        """
        INSERT INTO {schema}.invoice_lines
        SELECT x.invoice_id,
               coalesce((SELECT max(l.line_no) FROM {schema}.invoice_lines l
                         WHERE l.invoice_id = x.invoice_id), 0)
                 + row_number() OVER (PARTITION BY x.invoice_id ORDER BY x.position, x.n),
               ll_text(x.f -> 'kind'), x.f ->> 'description', (x.f ->> 'quantity')::integer,
               ll_minor(x.f -> 'amount'), ll_currency(x.f -> 'amount'), x.f ->> 'product_code',
               ll_uuid(x.f -> 'line_id'), ll_uuid(ll_fields(x.f -> 'location') -> 'location_id'),
               ll_fields(x.f -> 'location') ->> 'name',
               ll_date(ll_fields(x.f -> 'period') -> 'start'),
               ll_date(ll_fields(x.f -> 'period') -> 'end'), ll_uuid(x.f -> 'lead_id'),
               x.position, x.f ->> 'price_version', x.f ->> 'price_override',
               coalesce((x.f ->> 'policy_version')::integer, x.fee_policy_version),
               ll_text(x.f -> 'rate')::numeric, (x.f ->> 'term_months')::integer
        FROM (
            SELECT b.originator_id AS invoice_id, b.position, l.n, ll_fields(l.item) AS f,
                   NULL::integer AS fee_policy_version
            FROM batch_events b
            CROSS JOIN LATERAL ll_items(b.event -> 'lines') WITH ORDINALITY AS l(item, n)
            WHERE b.topic = {t_Invoice_Issued} AND b.position > %(lo)s
          UNION ALL
            -- The fee's policy version is its event's; version 1 named none: version 0's rate.
            SELECT originator_id, position, 1, ll_fields(event -> 'line'),
                   coalesce((event ->> 'policy_version')::integer, 0)
            FROM batch_events WHERE topic = {t_Invoice_CardFeeAdded} AND position > %(lo)s
        ) x
        """,
        """
        INSERT INTO {schema}.invoice_payments
        SELECT position, originator_id,
               CASE topic WHEN {t_Invoice_PaymentReceived} THEN 'payment'
                          WHEN {t_Invoice_PaymentPending} THEN 'pending'
                          WHEN {t_Invoice_PaymentFailed} THEN 'failed'
                          ELSE 'refund' END,
               ll_uuid(event -> 'payment_id'), ll_uuid(event -> 'refund_id'),
               coalesce(ll_text(event -> 'source'), 'direct_debit'),
               ll_minor(event -> 'amount'), coalesce(ll_minor(event -> 'fee'), 0),
               ll_currency(event -> 'amount'),
               coalesce(ll_date(event -> 'received_on'), ll_date(event -> 'submitted_on'),
                        ll_date(event -> 'attempted_on'), ll_date(event -> 'refunded_on')),
               event ->> 'reference', event ->> 'note', event ->> 'decline_code',
               event ->> 'reason'
        FROM batch_events
        WHERE topic IN ({t_Invoice_PaymentReceived}, {t_Invoice_PaymentPending},
                        {t_Invoice_PaymentFailed}, {t_Invoice_PaymentRefunded})
          AND position > %(lo)s
        """,
        # Announced, then confirmed by the payment received with the same id: in this order,
        # so an announcement confirmed within its own batch is found.
        """
        INSERT INTO {schema}.invoice_announcements
        SELECT originator_id, ll_uuid(event -> 'payment_id'), ll_text(event -> 'source'),
               ll_minor(event -> 'amount'), ll_currency(event -> 'amount'),
               event ->> 'reference', ll_date(event -> 'announced_on'), NULL, position
        FROM batch_events WHERE topic = {t_Invoice_PaymentAnnounced} AND position > %(lo)s
        """,
        """
        UPDATE {schema}.invoice_announcements a
        SET confirmed_on = ll_date(b.event -> 'received_on')
        FROM batch_events b
        WHERE b.topic = {t_Invoice_PaymentReceived} AND b.position > %(lo)s
          AND a.invoice_id = b.originator_id AND a.payment_id = ll_uuid(b.event -> 'payment_id')
        """,
        """
        INSERT INTO {schema}.credit_notes
        SELECT ll_uuid(event -> 'credit_note_id'), event ->> 'credit_note_number', originator_id,
               ll_minor(event -> 'amount'), ll_currency(event -> 'amount'), event ->> 'reason',
               ll_date(event -> 'issued_on'), position
        FROM batch_events WHERE topic = {t_Invoice_CreditNoteIssued} AND position > %(lo)s
        """,
        # What happened to the invoice as a whole: each happens at most once.
        """
        UPDATE {schema}.invoices i SET
            settled_on = coalesce(i.settled_on, s.settled_on),
            voided_on = coalesce(i.voided_on, s.voided_on),
            void_reason = coalesce(i.void_reason, s.void_reason),
            marked_overdue_on = coalesce(i.marked_overdue_on, s.overdue_on)
        FROM (
            SELECT originator_id AS invoice_id,
                   min(ll_date(event -> 'settled_on')) AS settled_on,
                   min(ll_date(event -> 'voided_on')) AS voided_on,
                   min(event ->> 'reason') FILTER (WHERE topic = {t_Invoice_Voided})
                     AS void_reason,
                   min(ll_date(event -> 'overdue_on')) AS overdue_on
            FROM batch_events
            WHERE topic IN ({t_Invoice_Settled}, {t_Invoice_Voided}, {t_Invoice_MarkedOverdue})
              AND position > %(lo)s
            GROUP BY originator_id
        ) s
        WHERE i.invoice_id = s.invoice_id
        """,
        # The figures, from the invoice's own lines, payments and credit notes (domain/invoice.py);
        # never from announcements, which only move the invoice's position.
        """
        UPDATE {schema}.invoices i SET
            status = s.status,
            total_minor = s.total_minor,
            paid_minor = s.paid_minor,
            credited_minor = s.credited_minor,
            refunded_minor = s.refunded_minor,
            outstanding_minor = CASE WHEN s.status = 'void' THEN 0
                                     ELSE s.total_minor - s.credited_minor - s.paid_minor END,
            pending_debits_minor = s.pending_minor,
            failed = s.status = 'open' AND s.pending_minor = 0
                     AND coalesce(s.last_attempt = 'failed', false),
            overdue = s.status = 'open' AND s.pending_minor = 0
                      AND s.marked_overdue_on IS NOT NULL,
            last_decline_code = s.decline_code,
            last_decline_reason = s.decline_reason,
            last_failed_on = s.failed_on,
            position = s.position
        FROM (
            SELECT t.invoice_id, t.position, o.marked_overdue_on,
                   CASE WHEN o.voided_on IS NOT NULL THEN 'void'
                        WHEN o.settled_on IS NOT NULL THEN 'settled'
                        ELSE 'open' END AS status,
                   l.total_minor, c.credited_minor, p.*
            FROM (
                SELECT originator_id AS invoice_id, max(position) AS position
                FROM batch_events
                WHERE position > %(lo)s AND topic IN ("""
        + HISTORY_TOPICS
        + """)
                GROUP BY originator_id
            ) t
            JOIN {schema}.invoices o ON o.invoice_id = t.invoice_id
            CROSS JOIN LATERAL (
                SELECT coalesce(sum(amount_minor), 0) AS total_minor
                FROM {schema}.invoice_lines WHERE invoice_id = t.invoice_id
            ) l
            CROSS JOIN LATERAL (
                SELECT coalesce(sum(amount_minor), 0) AS credited_minor
                FROM {schema}.credit_notes WHERE invoice_id = t.invoice_id
            ) c
            CROSS JOIN LATERAL (
                SELECT coalesce(sum(amount_minor) FILTER (WHERE what = 'payment'), 0)
                         AS paid_minor,
                       coalesce(sum(amount_minor) FILTER (WHERE what = 'refund'), 0)
                         AS refunded_minor,
                       coalesce(sum(amount_minor) FILTER (WHERE what = 'pending'
                                                          AND NOT cleared), 0) AS pending_minor,
                       (array_agg(what ORDER BY position DESC)
                          FILTER (WHERE what <> 'refund'))[1] AS last_attempt,
                       (array_agg(decline_code ORDER BY position DESC)
                          FILTER (WHERE what = 'failed'))[1] AS decline_code,
                       (array_agg(reason ORDER BY position DESC)
                          FILTER (WHERE what = 'failed'))[1] AS decline_reason,
                       max(occurred_on) FILTER (WHERE what = 'failed') AS failed_on
                FROM (
                    -- A pending debit is cleared once it settles or bounces (same payment id).
                    SELECT *, coalesce(bool_or(what IN ('payment', 'failed')) OVER (
                               PARTITION BY payment_id ORDER BY position
                               ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING), false)
                               AS cleared
                    FROM {schema}.invoice_payments WHERE invoice_id = t.invoice_id
                ) attempts
            ) p
        ) s
        WHERE i.invoice_id = s.invoice_id
        """,
    )


# --- reading the invoice history (R-O5, R-C8) ---------------------------------------------


@dataclass(frozen=True)
class InvoiceSummary:
    """An invoice as its history shows it: who pays, what it charged, what is still owed."""

    invoice_id: UUID
    partner_id: UUID
    payer_id: UUID
    payer: str
    client_id: UUID | None
    number: str
    kind: str
    status: str
    currency: str
    total_minor: int
    paid_minor: int
    credited_minor: int
    refunded_minor: int
    outstanding_minor: int
    pending_debits_minor: int
    issued_on: date
    due_on: date
    expected_source: str | None
    overdue: bool
    """Not collected by its due date, and no debit on its way (R-H2)."""
    failed: bool
    """Its last charge was declined, and no debit on its way (R-H2)."""
    last_decline_code: str | None
    last_decline_reason: str | None
    last_failed_on: date | None
    marked_overdue_on: date | None
    settled_on: date | None
    voided_on: date | None
    void_reason: str | None
    line_ids: list[UUID]
    position: int


@dataclass(frozen=True)
class InvoiceLineView:
    """One line of an invoice: a product for a location and period, a lead, a discount, a fee."""

    line_no: int
    kind: str
    description: str | None
    """The English sentence of a line recorded before issue 17; None since (ledger/wording.py
    words a line from the facts here)."""
    quantity: int
    amount_minor: int
    currency: str
    product_code: str | None
    line_id: UUID | None
    location_id: UUID | None
    location_name: str | None
    period_start: date | None
    period_end: date | None
    lead_id: UUID | None
    price_version: str | None
    """The catalogue price it was priced at; None on lines invoiced before versions."""
    price_override: str | None
    policy_version: int | None
    """The billing policy version of a discount or card-fee line; None on a discount line
    invoiced before it was recorded."""
    rate: Decimal | None
    """A discount's or card fee's rate (0.10 is 10 %); None before issue 17."""
    term_months: int | None
    """A duration discount's term; None otherwise and before issue 17."""
    product_names: dict[str, str] | None = None
    """The line's product's names by language, from the catalogue (not a column of the lines:
    joined when the invoice is read, so a line names its product in whichever language)."""


@dataclass(frozen=True)
class InvoicePayment:
    """A payment, a debit on its way, a declined charge or a refund of an invoice."""

    what: Literal["payment", "pending", "failed", "refund"]
    payment_id: UUID
    refund_id: UUID | None
    source: str
    amount_minor: int
    fee_minor: int
    currency: str
    occurred_on: date
    reference: str | None
    note: str | None
    decline_code: str | None
    reason: str | None
    position: int
    refunded_minor: int = 0
    """For a payment: how much of it was refunded since (R-H6); 0 for the other rows."""
    still_pending: bool = False
    """For a pending debit: neither settled nor bounced yet (R-H2); False for the other rows."""


_DERIVED = ("refunded_minor", "still_pending")
"""`InvoicePayment`'s fields the query derives from the other rows (see `PAYMENTS`)."""
PAYMENTS = """
    SELECT {stored},
        COALESCE((
            SELECT sum(r.amount_minor) FROM invoice_payments r
            WHERE p.what = 'payment' AND r.invoice_id = p.invoice_id
              AND r.what = 'refund' AND r.payment_id = p.payment_id
        ), 0)::bigint AS refunded_minor,
        p.what = 'pending' AND NOT EXISTS (
            SELECT 1 FROM invoice_payments c
            WHERE c.invoice_id = p.invoice_id AND c.payment_id = p.payment_id
              AND c.what IN ('payment', 'failed')
        ) AS still_pending
    FROM invoice_payments p WHERE p.invoice_id = %s ORDER BY p.position
"""
"""An invoice's payment rows, each payment with what was refunded of it and each debit with
whether it is still on its way: the arithmetic done once, in the query, not by its readers."""


@dataclass(frozen=True)
class PaymentAnnouncement:
    """Money the payer says it sent outside the gateway: waiting until the vendor confirms it
    arrived, then paid as the payment with the same id (R-H2)."""

    payment_id: UUID
    source: str
    amount_minor: int
    currency: str
    reference: str
    announced_on: date
    confirmed_on: date | None
    """When the vendor recorded it received; None while it waits."""
    position: int


@dataclass(frozen=True)
class CreditNote:
    """A numbered credit note against an invoice (R-X6)."""

    credit_note_id: UUID
    number: str
    amount_minor: int
    currency: str
    reason: str
    issued_on: date


@dataclass(frozen=True)
class InvoiceDetail:
    """An invoice fetched again, whole: its lines, payments, announced payments and credit notes
    (R-O3, R-O5, R-H2)."""

    invoice: InvoiceSummary
    lines: list[InvoiceLineView]
    payments: list[InvoicePayment]
    announcements: list[PaymentAnnouncement]
    credit_notes: list[CreditNote]


@dataclass(frozen=True)
class PageCursor:
    """Where a page of invoices ended: newest first, by issue date then number."""

    issued_on: date
    number: str


@dataclass(frozen=True)
class InvoicePage:
    """Some invoices, newest first, and the cursor of the next page if there is one."""

    invoices: list[InvoiceSummary]
    next: PageCursor | None


def _columns(view: type[Any]) -> sql.Composable:
    return sql.SQL(", ").join(sql.Identifier(field.name) for field in fields(view))


def invoice(
    conn: psycopg.Connection[Any], invoice_id: UUID, *, partner_id: UUID | None = None
) -> InvoiceDetail | None:
    """An invoice with its lines, payments, announcements and credit notes; with `partner_id`,
    only its own."""
    query = sql.SQL(
        "SELECT {} FROM invoices WHERE invoice_id = %s AND (%s::uuid IS NULL OR partner_id = %s)"
    ).format(_columns(InvoiceSummary))
    with conn.cursor(row_factory=class_row(InvoiceSummary)) as cur:
        found = cur.execute(query, (invoice_id, partner_id, partner_id)).fetchone()
    if found is None:
        return None
    stored = sql.SQL(", ").join(
        sql.Identifier("l", field.name)
        for field in fields(InvoiceLineView)
        if field.name != "product_names"
    )
    with conn.cursor(row_factory=class_row(InvoiceLineView)) as cur:
        lines = cur.execute(
            sql.SQL(
                "SELECT {}, p.names AS product_names FROM invoice_lines l "
                "LEFT JOIN products p ON p.code = l.product_code "
                "WHERE l.invoice_id = %s ORDER BY l.line_no"
            ).format(stored),
            (invoice_id,),
        ).fetchall()
    with conn.cursor(row_factory=class_row(InvoicePayment)) as cur:
        stored = sql.SQL(", ").join(
            sql.Identifier("p", field.name)
            for field in fields(InvoicePayment)
            if field.name not in _DERIVED
        )
        payments = cur.execute(sql.SQL(PAYMENTS).format(stored=stored), (invoice_id,)).fetchall()
    with conn.cursor(row_factory=class_row(PaymentAnnouncement)) as cur:
        announcements = cur.execute(
            sql.SQL(
                "SELECT {} FROM invoice_announcements WHERE invoice_id = %s ORDER BY position"
            ).format(_columns(PaymentAnnouncement)),
            (invoice_id,),
        ).fetchall()
    with conn.cursor(row_factory=class_row(CreditNote)) as cur:
        credit_notes = cur.execute(
            sql.SQL("SELECT {} FROM credit_notes WHERE invoice_id = %s ORDER BY position").format(
                _columns(CreditNote)
            ),
            (invoice_id,),
        ).fetchall()
    return InvoiceDetail(found, lines, payments, announcements, credit_notes)


def invoices_of(
    conn: psycopg.Connection[Any],
    partner_id: UUID,
    *,
    after: PageCursor | None = None,
    limit: int = 50,
) -> InvoicePage:
    """A page of every invoice of a partner's, to it or to its clients, newest first (R-O5)."""
    return _page(conn, sql.SQL("partner_id = %s"), (partner_id,), after, limit)


def client_invoices(
    conn: psycopg.Connection[Any],
    partner_id: UUID,
    client_id: UUID,
    *,
    after: PageCursor | None = None,
    limit: int = 50,
) -> InvoicePage:
    """A page of one client's invoices, newest first: the client's own only (R-C8).

    A partner's unified invoice names no client, so no client sees it.
    """
    return _page(
        conn, sql.SQL("partner_id = %s AND client_id = %s"), (partner_id, client_id), after, limit
    )


def _page(
    conn: psycopg.Connection[Any],
    where: sql.Composable,
    params: tuple[Any, ...],
    after: PageCursor | None,
    limit: int,
) -> InvoicePage:
    if not 1 <= limit <= PAGE_SIZE_MAX:
        raise ValueError(f"a page holds 1 to {PAGE_SIZE_MAX} invoices, not {limit}")
    query = sql.SQL(
        "SELECT {} FROM invoices WHERE {} AND (%s::date IS NULL OR (issued_on, number) < (%s, %s))"
        " ORDER BY issued_on DESC, number DESC LIMIT %s"
    ).format(_columns(InvoiceSummary), where)
    cursor = (after.issued_on, after.issued_on, after.number) if after else (None, None, None)
    with conn.cursor(row_factory=class_row(InvoiceSummary)) as cur:
        rows = cur.execute(query, (*params, *cursor, limit + 1)).fetchall()
    page = rows[:limit]
    more = len(rows) > limit
    return InvoicePage(page, PageCursor(page[-1].issued_on, page[-1].number) if more else None)
