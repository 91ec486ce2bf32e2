"""The activity feed (R-H7): every subscription line's history, one English sentence per event.

A line's feed holds its own events (created, sent, accepted, activated, renewed, paused,
cancelled, locations, autopay, card, invoices, leads, transfers) and the events of the
invoices that charge it (payments received, failed, pending, refunded, credit notes, overdue
marks), in log order. An invoice reaches the lines named in its `line_ids`, remembered in a
small table of the read model's own. Amounts read as major units with their currency, computed
from the integer minor units with the currency's exponent (R-X1: no floats). A card shows as
its brand and last 4 digits only (R-X4).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg

from domain.currencies import MINOR_UNIT_EXPONENTS
from projections.base import Projection

FEED_PAGE_MAX = 500
"""The most entries one call to `feed` returns: a page, never a whole history at once."""

LINE_EVENTS = (
    "SubscriptionLine.Created",
    "SubscriptionLine.Sent",
    "SubscriptionLine.Accepted",
    "SubscriptionLine.Activated",
    "SubscriptionLine.Renewed",
    "SubscriptionLine.Paused",
    "SubscriptionLine.Resumed",
    "SubscriptionLine.Cancelled",
    "SubscriptionLine.LocationAdded",
    "SubscriptionLine.LocationRemoved",
    "SubscriptionLine.RemovedFromUnifiedBilling",
    "SubscriptionLine.AutopaySet",
    "SubscriptionLine.CardAttached",
    "SubscriptionLine.Invoiced",
    "SubscriptionLine.InvoiceSettled",
    "SubscriptionLine.InvoiceVoided",
    "SubscriptionLine.LeadRecorded",
    "SubscriptionLine.LeadsInvoiced",
    "SubscriptionLine.TransferRequested",
    "SubscriptionLine.TransferConsentGiven",
    "SubscriptionLine.TransferScheduled",
    "SubscriptionLine.Transferred",
)
"""A line's own events: every one of them is an entry of its feed."""

INVOICE_EVENTS = (
    "Invoice.PaymentReceived",
    "Invoice.PaymentFailed",
    "Invoice.PaymentPending",
    "Invoice.PaymentRefunded",
    "Invoice.CreditNoteIssued",
    "Invoice.MarkedOverdue",
)
"""Events of an invoice that are entries of the feed of every line it charges. Issuing,
settling and voiding are not: the line records those itself (Invoiced, InvoiceSettled, …)."""


def _placeholders(short_names: tuple[str, ...]) -> str:
    return ", ".join("{t_" + name.replace(".", "_") + "}" for name in short_names)


def _currency_rows() -> str:
    """The minor-unit exponent (and 10 to its power) of every currency, as SQL VALUES rows."""
    return ",\n".join(
        f"('{code}', {exponent}, {10**exponent})"
        for code, exponent in sorted(MINOR_UNIT_EXPONENTS.items())
    )


MONEY_FUNCTION = """
    CREATE FUNCTION {schema}.activity_money(money jsonb) RETURNS text
    LANGUAGE plpgsql STABLE AS $$
    DECLARE
        minor bigint := ll_minor(money);
        code text := ll_currency(money);
        unit {schema}.activity_currencies;
    BEGIN
        SELECT * INTO unit FROM {schema}.activity_currencies c WHERE c.currency = code;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'no minor-unit exponent for currency %', code;
        END IF;
        RETURN CASE WHEN minor < 0 THEN '-' ELSE '' END
            || to_char(abs(minor) / unit.unit_minor, 'FM9,999,999,999,999,999,990')
            || CASE WHEN unit.exponent > 0
                    THEN '.' || lpad((abs(minor) % unit.unit_minor)::text, unit.exponent, '0')
                    ELSE '' END
            || ' ' || code;
    END
    $$
"""
"""`{"amount_minor": 123456, "currency": "USD"}` reads `1,234.56 USD`: integer division and
remainder by 10^exponent, so nothing is ever rounded. An unknown currency stops the batch."""

WORDS_FUNCTIONS = (
    """
    CREATE FUNCTION {schema}.activity_day(day jsonb) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$ SELECT to_char(ll_date(day), 'FMDD Mon YYYY') $$
    """,
    """
    CREATE FUNCTION {schema}.activity_period(period jsonb) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$
        SELECT to_char(ll_date(period -> '_data_' -> 'start'), 'FMDD Mon YYYY') || ' to '
            || to_char(ll_date(period -> '_data_' -> 'end') - 1, 'FMDD Mon YYYY')
    $$
    """,
    """
    CREATE FUNCTION {schema}.activity_source(source text) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$
        SELECT CASE source
            WHEN 'card' THEN 'by card'
            WHEN 'direct_debit' THEN 'by direct debit'
            WHEN 'bank_transfer' THEN 'by bank transfer'
            WHEN 'company_balance' THEN 'from the company balance'
            WHEN 'bonus' THEN 'with bonuses'
            WHEN 'cash' THEN 'in cash'
            WHEN 'cheque' THEN 'by cheque'
            ELSE 'by other means'
        END
    $$
    """,
    """
    CREATE FUNCTION {schema}.activity_brand(brand text) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$
        SELECT CASE brand
            WHEN 'visa' THEN 'Visa' WHEN 'mastercard' THEN 'Mastercard'
            WHEN 'amex' THEN 'American Express' WHEN 'discover' THEN 'Discover'
            WHEN 'diners' THEN 'Diners Club' WHEN 'jcb' THEN 'JCB'
            WHEN 'unionpay' THEN 'UnionPay' ELSE 'Card'
        END
    $$
    """,
)
"""Dates (`15 Jan 2026`), periods (their last day inclusive), payment sources and card brands
in words."""

TEXT_FUNCTION = """
    CREATE FUNCTION {schema}.activity_text(
        kind text, e jsonb, invoice_number text, location_name text
    ) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT CASE kind
    WHEN 'SubscriptionLine.Created' THEN format(
        'Created as a draft: %s at %s%s, paid by the %s%s.',
        e ->> 'product_name', {schema}.activity_money(e -> 'unit_price'),
        CASE ll_text(e -> 'unit') WHEN 'per_lead' THEN ' per lead'
             ELSE CASE ll_text(e -> 'unit') WHEN 'per_location' THEN ' per location' ELSE '' END
                  || CASE ll_text(e -> 'term') WHEN 'twelve_months' THEN ' a month, for 12 months'
                          WHEN 'annual' THEN ' a month, billed annually'
                          ELSE ' a month, billed monthly' END END,
        ll_text(e -> 'payer'),
        CASE jsonb_array_length(coalesce(e -> 'locations' -> '_data_', '[]'))
             WHEN 0 THEN '' WHEN 1 THEN ', for 1 location'
             ELSE format(', for %s locations',
                         jsonb_array_length(e -> 'locations' -> '_data_')) END)
    WHEN 'SubscriptionLine.Sent' THEN 'Sent to the customer to pay and accept.'
    WHEN 'SubscriptionLine.Accepted' THEN 'Accepted by the customer.'
    WHEN 'SubscriptionLine.Activated' THEN format(
        'Activated: the first period is %s.', {schema}.activity_period(e -> 'period'))
    WHEN 'SubscriptionLine.Renewed' THEN format(
        'Renewed for %s.', {schema}.activity_period(e -> 'period'))
    WHEN 'SubscriptionLine.Paused' THEN format('Paused: %s.', e ->> 'reason')
    WHEN 'SubscriptionLine.Resumed' THEN 'Resumed; the billing date has not moved.'
    WHEN 'SubscriptionLine.Cancelled' THEN format(
        'Cancelled on %s: %s.', {schema}.activity_day(e -> 'cancelled_on'), e ->> 'reason')
    WHEN 'SubscriptionLine.LocationAdded' THEN format(
        'Location %s added.', e -> 'location' -> '_data_' ->> 'name')
    WHEN 'SubscriptionLine.LocationRemoved' THEN format(
        'Location %s removed.', coalesce(location_name, ll_text(e -> 'location_id')))
    WHEN 'SubscriptionLine.RemovedFromUnifiedBilling' THEN
        'Removed from unified billing: the client pays for it from now on.'
    WHEN 'SubscriptionLine.AutopaySet' THEN CASE
        WHEN ll_text(e -> 'source') IS NULL THEN 'Autopay turned off.'
        ELSE format('Autopay turned on: renewals are paid %s.',
                    {schema}.activity_source(ll_text(e -> 'source'))) END
    WHEN 'SubscriptionLine.CardAttached' THEN format(
        'Card attached: %s ending in %s.',
        {schema}.activity_brand(ll_text(e -> 'card' -> '_data_' -> 'brand')),
        e -> 'card' -> '_data_' ->> 'last4')
    WHEN 'SubscriptionLine.Invoiced' THEN format(
        'Invoice %s issued for %s%s.', e ->> 'invoice_number',
        {schema}.activity_money(e -> 'amount'),
        CASE WHEN e -> 'period' -> '_data_' IS NULL THEN ''
             ELSE ', for ' || {schema}.activity_period(e -> 'period') END)
    WHEN 'SubscriptionLine.InvoiceSettled' THEN format(
        'Invoice %s settled: nothing is owed on it any more.',
        coalesce(invoice_number, ll_text(e -> 'invoice_id')))
    WHEN 'SubscriptionLine.InvoiceVoided' THEN format(
        'Invoice %s voided.', coalesce(invoice_number, ll_text(e -> 'invoice_id')))
    WHEN 'SubscriptionLine.LeadRecorded' THEN format(
        'Lead delivered on %s, charged %s.', {schema}.activity_day(e -> 'delivered_on'),
        {schema}.activity_money(e -> 'price'))
    WHEN 'SubscriptionLine.LeadsInvoiced' THEN format(
        '%s on invoice %s for %s.',
        CASE jsonb_array_length(e -> 'lead_ids' -> '_data_') WHEN 1 THEN '1 lead'
             ELSE jsonb_array_length(e -> 'lead_ids' -> '_data_') || ' leads' END,
        coalesce(invoice_number, ll_text(e -> 'invoice_id')),
        {schema}.activity_money(e -> 'amount'))
    WHEN 'SubscriptionLine.TransferRequested' THEN format(
        'Transfer of %s to another reseller requested, preferred date %s, billed %s, paid %s.',
        e -> 'request' -> '_data_' ->> 'end_user_name',
        {schema}.activity_day(e -> 'request' -> '_data_' -> 'preferred_date'),
        CASE ll_text(e -> 'request' -> '_data_' -> 'billing') WHEN 'monthly' THEN 'monthly'
             ELSE 'annually' END,
        {schema}.activity_source(ll_text(e -> 'request' -> '_data_' -> 'payment_method')))
    WHEN 'SubscriptionLine.TransferConsentGiven' THEN format(
        'The %s consented to the transfer.', replace(ll_text(e -> 'party'), '_', ' '))
    WHEN 'SubscriptionLine.TransferScheduled' THEN format(
        'Transfer scheduled for %s.', {schema}.activity_day(e -> 'effective_on'))
    WHEN 'SubscriptionLine.Transferred' THEN format(
        'Transferred to the new reseller on %s, billed %s.',
        {schema}.activity_day(e -> 'effective_on'),
        CASE ll_text(e -> 'term') WHEN 'monthly' THEN 'monthly' ELSE 'annually' END)
    WHEN 'Invoice.PaymentReceived' THEN format(
        'Payment of %s received %s for invoice %s%s.', {schema}.activity_money(e -> 'amount'),
        {schema}.activity_source(ll_text(e -> 'source')), invoice_number,
        CASE WHEN ll_minor(e -> 'fee') > 0
             THEN format(', with a card fee of %s', {schema}.activity_money(e -> 'fee'))
             ELSE '' END)
    WHEN 'Invoice.PaymentFailed' THEN format(
        'Payment of %s %s for invoice %s failed: %s', {schema}.activity_money(e -> 'amount'),
        {schema}.activity_source(ll_text(e -> 'source')), invoice_number, e ->> 'reason')
    WHEN 'Invoice.PaymentPending' THEN format(
        'Direct debit of %s submitted for invoice %s.', {schema}.activity_money(e -> 'amount'),
        invoice_number)
    WHEN 'Invoice.PaymentRefunded' THEN format(
        'Refund of %s (paid %s) on invoice %s: %s.', {schema}.activity_money(e -> 'amount'),
        {schema}.activity_source(ll_text(e -> 'source')), invoice_number, e ->> 'reason')
    WHEN 'Invoice.CreditNoteIssued' THEN format(
        'Credit note %s of %s on invoice %s: %s.', e ->> 'credit_note_number',
        {schema}.activity_money(e -> 'amount'), invoice_number, e ->> 'reason')
    WHEN 'Invoice.MarkedOverdue' THEN format(
        'Invoice %s is overdue since %s.', invoice_number,
        {schema}.activity_day(e -> 'overdue_on'))
    END
    $$
"""
"""The sentence for each kind of event, in English (R-H7)."""


class ActivityFeed(Projection):
    """Every subscription line's activity feed, with its invoices' payments (R-H7)."""

    name = "activity"
    reads = ("Invoice.Issued", *LINE_EVENTS, *INVOICE_EVENTS)
    tables = ("activity",)
    ddl = (
        """
        CREATE TABLE {schema}.activity (
            line_id uuid NOT NULL,
            position bigint NOT NULL,
            entry integer NOT NULL CHECK (entry > 0),
            recorded_at timestamptz NOT NULL,
            kind text NOT NULL,
            text text NOT NULL,
            PRIMARY KEY (line_id, position),
            UNIQUE (line_id, entry)
        )
        """,
        """
        CREATE TABLE {schema}.activity_invoices (
            invoice_id uuid NOT NULL,
            line_id uuid NOT NULL,
            number text NOT NULL,
            PRIMARY KEY (invoice_id, line_id)
        )
        """,
        """
        CREATE TABLE {schema}.activity_locations (
            line_id uuid NOT NULL,
            location_id uuid NOT NULL,
            name text NOT NULL,
            PRIMARY KEY (line_id, location_id)
        )
        """,
        """
        CREATE TABLE {schema}.activity_currencies (
            currency char(3) PRIMARY KEY,
            exponent smallint NOT NULL CHECK (exponent BETWEEN 0 AND 4),
            unit_minor bigint NOT NULL
        )
        """,
        "INSERT INTO {schema}.activity_currencies VALUES\n" + _currency_rows(),
        MONEY_FUNCTION,
        *WORDS_FUNCTIONS,
        TEXT_FUNCTION,
    )
    statements = (
        # Which lines each invoice charges, and its number, before any of its events is read.
        """
        INSERT INTO {schema}.activity_invoices (invoice_id, line_id, number)
        SELECT DISTINCT b.originator_id, ll_uuid(l.item), b.event ->> 'number'
        FROM batch_events b CROSS JOIN LATERAL ll_items(b.event -> 'line_ids') AS l(item)
        WHERE b.topic = {t_Invoice_Issued} AND b.position > %(lo)s
        ON CONFLICT DO NOTHING
        """,
        # Location names, so that a removal (which carries only the id) reads with its name.
        """
        INSERT INTO {schema}.activity_locations AS known (line_id, location_id, name)
        SELECT DISTINCT ON (line_id, location_id) line_id, location_id, name
        FROM (
            SELECT b.position, b.originator_id AS line_id,
                   ll_uuid(l.item -> '_data_' -> 'location_id') AS location_id,
                   l.item -> '_data_' ->> 'name' AS name
            FROM batch_events b CROSS JOIN LATERAL ll_items(b.event -> 'locations') AS l(item)
            WHERE b.topic = {t_SubscriptionLine_Created} AND b.position > %(lo)s
          UNION ALL
            SELECT b.position, b.originator_id,
                   ll_uuid(b.event -> 'location' -> '_data_' -> 'location_id'),
                   b.event -> 'location' -> '_data_' ->> 'name'
            FROM batch_events b
            WHERE b.topic = {t_SubscriptionLine_LocationAdded} AND b.position > %(lo)s
        ) added
        ORDER BY line_id, location_id, position DESC
        ON CONFLICT (line_id, location_id) DO UPDATE SET name = excluded.name
        """,
        f"""
        INSERT INTO {{schema}}.activity (line_id, position, entry, recorded_at, kind, text)
        SELECT c.line_id, c.position,
               coalesce((SELECT max(a.entry) FROM {{schema}}.activity a
                         WHERE a.line_id = c.line_id), 0)
               + row_number() OVER (PARTITION BY c.line_id ORDER BY c.position),
               c.recorded_at, c.kind,
               {{schema}}.activity_text(c.kind, c.event, c.number, c.location)
        FROM (
            SELECT b.originator_id AS line_id, b.position, b.recorded_at,
                   substring(b.topic from ':(.*)$') AS kind, b.event, i.number,
                   l.name AS location
            FROM batch_events b
            LEFT JOIN {{schema}}.activity_invoices i
                   ON i.invoice_id = ll_uuid(b.event -> 'invoice_id')
                  AND i.line_id = b.originator_id
            LEFT JOIN {{schema}}.activity_locations l
                   ON l.line_id = b.originator_id
                  AND l.location_id = ll_uuid(b.event -> 'location_id')
            WHERE b.topic IN ({_placeholders(LINE_EVENTS)}) AND b.position > %(lo)s
          UNION ALL
            SELECT i.line_id, b.position, b.recorded_at, substring(b.topic from ':(.*)$'),
                   b.event, i.number, NULL
            FROM batch_events b
            JOIN {{schema}}.activity_invoices i ON i.invoice_id = b.originator_id
            WHERE b.topic IN ({_placeholders(INVOICE_EVENTS)}) AND b.position > %(lo)s
        ) c
        """,
    )


@dataclass(frozen=True)
class ActivityEntry:
    """One entry of a line's feed: what happened, in words, and when it was recorded."""

    line_id: UUID
    position: int
    entry: int
    recorded_at: datetime
    kind: str
    text: str


def feed(
    conn: psycopg.Connection[Any],
    line_id: UUID,
    *,
    after_position: int | None = None,
    limit: int = 50,
) -> list[ActivityEntry]:
    """A line's feed in log order, from after a position (the previous page's last) onwards."""
    if not 1 <= limit <= FEED_PAGE_MAX:
        raise ValueError(f"a feed page holds 1 to {FEED_PAGE_MAX} entries, not {limit}")
    rows = conn.execute(
        "SELECT line_id, position, entry, recorded_at, kind, text FROM activity "
        "WHERE line_id = %(line)s AND position > %(after)s ORDER BY position LIMIT %(limit)s",
        {"line": line_id, "after": after_position or 0, "limit": limit},
    ).fetchall()
    return [ActivityEntry(*row) for row in rows]
