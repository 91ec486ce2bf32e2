"""The banner of what is owed (R-H2, R-H3).

`Banners` keeps one row per invoice that is failed (its last charge was declined) or overdue
(not collected by its due date) and not waiting for a debit to clear, exactly the domain's
`Invoice.is_outstanding`; the row goes in the batch that settles the invoice (R-H3).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal
from uuid import UUID

import psycopg

from domain.money import Money, allocate
from projections.base import Projection
from projections.invoices import INVOICE_EVENTS, TOUCHED

OVERDUE_REASON = "not collected by due date"
"""What a banner says of an overdue invoice (R-H2); a failed one gives its decline reason."""


class Banners(Projection):
    """Failed and overdue invoices, for the banner on a client's or a partner's profile (R-H3).

    `banner_open_invoices` is its working state: what each open invoice owes, its debits on
    their way and its last charge; `banner_invoices` holds the ones a banner shows.
    """

    name = "banners"
    weight = 2
    reads = tuple(e for e in INVOICE_EVENTS if e != "Invoice.PaymentRefunded")
    tables = ("banner_invoices",)
    ddl = (
        """
        CREATE TABLE {schema}.banner_open_invoices (
            invoice_id uuid PRIMARY KEY,
            partner_id uuid NOT NULL,
            payer_id uuid NOT NULL,
            client_id uuid,
            number text NOT NULL,
            currency char(3) NOT NULL,
            total_minor bigint NOT NULL,
            paid_minor bigint NOT NULL DEFAULT 0,
            credited_minor bigint NOT NULL DEFAULT 0,
            pending jsonb NOT NULL DEFAULT '{{}}'::jsonb,
            last_attempt text,
            decline_code text,
            decline_reason text,
            failed_on date,
            overdue_on date,
            line_ids uuid[] NOT NULL,
            line_charges bigint[] NOT NULL,
            position bigint NOT NULL
        )
        """,
        """
        CREATE TABLE {schema}.banner_invoices (
            invoice_id uuid PRIMARY KEY,
            partner_id uuid NOT NULL,
            payer_id uuid NOT NULL,
            client_id uuid,
            number text NOT NULL,
            currency char(3) NOT NULL,
            owed_minor bigint NOT NULL,
            kind text NOT NULL CHECK (kind IN ('failed', 'overdue')),
            decline_code text,
            reason text NOT NULL,
            since date NOT NULL,
            line_ids uuid[] NOT NULL,
            line_charges bigint[] NOT NULL,
            position bigint NOT NULL
        )
        """,
        "CREATE INDEX ON {schema}.banner_invoices (partner_id, client_id)",
        "CREATE INDEX ON {schema}.banner_invoices (payer_id)",
    )
    statements = (
        """
        INSERT INTO {schema}.banner_open_invoices (
            invoice_id, partner_id, payer_id, client_id, number, currency, total_minor,
            line_ids, line_charges, position)
        SELECT b.originator_id, ll_uuid(b.event -> 'partner_id'), ll_uuid(b.event -> 'payer_id'),
               ll_uuid(b.event -> 'client_id'), b.event ->> 'number',
               ll_currency(b.event -> 'total'), ll_minor(b.event -> 'total'),
               ARRAY(SELECT ll_uuid(x.id) FROM ll_items(b.event -> 'line_ids')
                     WITH ORDINALITY AS x(id, n) ORDER BY x.n),
               -- What the invoice charges for each of its lines: the banner splits by it.
               ARRAY(SELECT (SELECT coalesce(sum(ll_minor(ll_fields(item) -> 'amount')), 0)
                             FROM ll_items(b.event -> 'lines') AS item
                             WHERE ll_uuid(ll_fields(item) -> 'line_id') = ll_uuid(x.id))
                     FROM ll_items(b.event -> 'line_ids') WITH ORDINALITY AS x(id, n)
                     ORDER BY x.n),
               b.position
        FROM batch_events b WHERE b.topic = {t_Invoice_Issued} AND b.position > %(lo)s
        """,
        """
        UPDATE {schema}.banner_open_invoices o SET
            total_minor = o.total_minor + d.fee_minor,
            paid_minor = o.paid_minor + d.paid_minor,
            credited_minor = o.credited_minor + d.credited_minor,
            pending = (o.pending - d.cleared) || d.submitted,
            last_attempt = coalesce(d.last_attempt, o.last_attempt),
            decline_code = coalesce(d.decline_code, o.decline_code),
            decline_reason = coalesce(d.decline_reason, o.decline_reason),
            failed_on = coalesce(d.failed_on, o.failed_on),
            overdue_on = coalesce(o.overdue_on, d.overdue_on),
            position = d.position
        FROM (
            SELECT a.originator_id AS invoice_id, max(a.position) AS position,
                   coalesce(sum(ll_minor(ll_fields(a.event -> 'line') -> 'amount'))
                              FILTER (WHERE a.topic = {t_Invoice_CardFeeAdded}), 0) AS fee_minor,
                   coalesce(sum(ll_minor(a.event -> 'amount'))
                              FILTER (WHERE a.attempt = 'payment'), 0) AS paid_minor,
                   coalesce(sum(ll_minor(a.event -> 'amount'))
                              FILTER (WHERE a.topic = {t_Invoice_CreditNoteIssued}), 0)
                              AS credited_minor,
                   coalesce(array_agg(a.payment_id) FILTER (WHERE a.attempt <> 'pending'),
                            ARRAY[]::text[]) AS cleared,
                   coalesce(jsonb_object_agg(a.payment_id, ll_minor(a.event -> 'amount'))
                              FILTER (WHERE a.attempt = 'pending' AND NOT a.cleared_later),
                            '{{}}'::jsonb) AS submitted,
                   (array_agg(a.attempt ORDER BY a.position DESC)
                      FILTER (WHERE a.attempt IS NOT NULL))[1] AS last_attempt,
                   (array_agg(a.event ->> 'decline_code' ORDER BY a.position DESC)
                      FILTER (WHERE a.attempt = 'failed'))[1] AS decline_code,
                   (array_agg(a.event ->> 'reason' ORDER BY a.position DESC)
                      FILTER (WHERE a.attempt = 'failed'))[1] AS decline_reason,
                   max(ll_date(a.event -> 'attempted_on')) AS failed_on,
                   min(ll_date(a.event -> 'overdue_on')) AS overdue_on
            FROM (
                SELECT b.*, ll_uuid(b.event -> 'payment_id')::text AS payment_id,
                       CASE b.topic WHEN {t_Invoice_PaymentReceived} THEN 'payment'
                                    WHEN {t_Invoice_PaymentPending} THEN 'pending'
                                    WHEN {t_Invoice_PaymentFailed} THEN 'failed' END AS attempt,
                       coalesce(bool_or(b.topic IN ({t_Invoice_PaymentReceived},
                                                    {t_Invoice_PaymentFailed})) OVER (
                                  PARTITION BY b.originator_id, b.event -> 'payment_id'
                                  ORDER BY b.position
                                  ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING), false)
                         AS cleared_later
                FROM batch_events b
                WHERE b.position > %(lo)s
                  AND b.topic IN ({t_Invoice_CardFeeAdded}, {t_Invoice_PaymentReceived},
                                  {t_Invoice_PaymentPending}, {t_Invoice_PaymentFailed},
                                  {t_Invoice_MarkedOverdue}, {t_Invoice_CreditNoteIssued})
            ) a
            GROUP BY a.originator_id
        ) d
        WHERE o.invoice_id = d.invoice_id
        """,
        # Settled or void: nothing is owed any more, and nothing can reopen it.
        """
        DELETE FROM {schema}.banner_open_invoices WHERE invoice_id IN (
            SELECT originator_id FROM batch_events
            WHERE topic IN ({t_Invoice_Settled}, {t_Invoice_Voided}) AND position > %(lo)s)
        """,
        "DELETE FROM {schema}.banner_invoices WHERE invoice_id IN (" + TOUCHED + ")",
        # Failed or overdue, and no debit on its way: Invoice.is_outstanding (R-H2).
        """
        INSERT INTO {schema}.banner_invoices
        SELECT invoice_id, partner_id, payer_id, client_id, number, currency,
               total_minor - credited_minor - paid_minor,
               CASE WHEN last_attempt = 'failed' THEN 'failed' ELSE 'overdue' END,
               CASE WHEN last_attempt = 'failed' THEN decline_code END,
               CASE WHEN last_attempt = 'failed' THEN decline_reason
                    ELSE '"""
        + OVERDUE_REASON
        + """' END,
               CASE WHEN last_attempt = 'failed' THEN failed_on ELSE overdue_on END,
               line_ids, line_charges, position
        FROM {schema}.banner_open_invoices
        WHERE invoice_id IN ("""
        + TOUCHED
        + """)
          AND pending = '{{}}'::jsonb
          AND (last_attempt = 'failed' OR overdue_on IS NOT NULL)
        """,
    )


# --- reading the banner (R-H2, R-H3) --------------------------------------------------


@dataclass(frozen=True)
class BannerInvoice:
    """A failed or overdue invoice of a line, and why (R-H2)."""

    invoice_id: UUID
    number: str
    owed_minor: int
    """What this invoice owes for this line (an invoice of several lines is split by charge)."""
    kind: Literal["failed", "overdue"]
    reason: str
    """The decline reason of a failed charge, or `OVERDUE_REASON`."""
    decline_code: str | None
    since: date


@dataclass(frozen=True)
class BannerLine:
    """A subscription line owing money, with the invoices that owe it."""

    line_id: UUID | None
    owed_minor: int
    invoices: list[BannerInvoice]


@dataclass(frozen=True)
class Banner:
    """What a profile's banner shows: the total owed across all lines, each line owing, and
    where it links: the one line when one line owes, else the list (R-H3)."""

    total_minor: int
    currency: str
    lines: list[BannerLine]
    target: tuple[Literal["line"], UUID] | tuple[Literal["list"], None]


BANNER_QUERY = (
    "SELECT invoice_id, number, currency, owed_minor, kind, reason, decline_code, since, "
    "line_ids, line_charges FROM banner_invoices WHERE partner_id = %s AND {} "
    "ORDER BY since, number"
)


def client_banner(
    conn: psycopg.Connection[Any], partner_id: UUID, client_id: UUID
) -> Banner | None:
    """The banner on a client's profile: its invoices, whoever pays them (R-C8); None if none."""
    rows = conn.execute(BANNER_QUERY.format("client_id = %s"), (partner_id, client_id))
    return _banner(rows.fetchall())


def partner_banner(conn: psycopg.Connection[Any], partner_id: UUID) -> Banner | None:
    """The banner on a partner's profile: what the partner itself pays; None if nothing."""
    rows = conn.execute(BANNER_QUERY.format("payer_id = %s"), (partner_id, partner_id))
    return _banner(rows.fetchall())


def _banner(rows: list[tuple[Any, ...]]) -> Banner | None:
    if not rows:
        return None
    currencies = {str(row[2]) for row in rows}
    if len(currencies) != 1:
        raise ValueError(f"a banner owes in one currency, not {sorted(currencies)}")
    [currency] = currencies
    by_line: dict[UUID | None, list[BannerInvoice]] = {}
    for invoice_id, number, _, owed, kind, reason, code, since, line_ids, charges in rows:
        for line_id, share in _split(Money(int(owed), currency), line_ids, charges):
            by_line.setdefault(line_id, []).append(
                BannerInvoice(invoice_id, number, share, kind, reason, code, since)
            )
    lines = [
        BannerLine(line_id, sum(i.owed_minor for i in invoices), invoices)
        for line_id, invoices in by_line.items()
    ]
    only = lines[0].line_id if len(lines) == 1 else None
    target: tuple[Literal["line"], UUID] | tuple[Literal["list"], None] = (
        ("line", only) if only is not None else ("list", None)
    )
    return Banner(sum(line.owed_minor for line in lines), currency, lines, target)


def _split(owed: Money, line_ids: list[UUID], charges: list[int]) -> list[tuple[UUID | None, int]]:
    """An invoice's debt by line, in proportion to what it charges each (largest remainder)."""
    if not line_ids:
        return [(None, owed.amount_minor)]
    weights = [max(int(charge), 0) for charge in charges]
    if not any(weights):
        weights = [1] * len(line_ids)
    parts = allocate(owed, weights)
    return [
        (line_id, part.amount_minor)
        for line_id, part in zip(line_ids, parts, strict=True)
        if not part.is_zero()
    ]
