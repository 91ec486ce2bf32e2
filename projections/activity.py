"""The activity feed (R-H7): every subscription line's history, one English sentence per event.

A line's feed holds its own events (created, sent, accepted, activated, renewed, paused,
cancelled, locations, autopay, card, invoices, leads, transfers) and the events of the
invoices that charge it (payments received, failed, pending, refunded, credit notes, overdue
marks), in log order. An invoice reaches the lines named in its `line_ids`, remembered in a
small table of the read model's own.

The read model keeps each entry's facts (the event's fields, a card reduced to its brand and
last 4 digits: R-X4); `describe` writes the sentence when the feed is read, so a rebuild
copies data instead of formatting text, and a change of wording needs no rebuild. Amounts read
as major units with their currency, computed from the integer minor units with the currency's
exponent (R-X1: no floats).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg

from domain.errors import UnknownCurrency
from ledger.formatting import format_money
from ledger.sealing import SEALED, Sealer, reveal
from projections.base import Projection

FEED_PAGE_MAX = 500
"""The most entries one call to `feed` returns: a page, never a whole history at once."""

LINE_EVENTS = (
    "SubscriptionLine.Created",
    "SubscriptionLine.Sent",
    "SubscriptionLine.Accepted",
    "SubscriptionLine.StartScheduled",
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


class ActivityFeed(Projection):
    """Every subscription line's activity feed, with its invoices' payments (R-H7)."""

    name = "activity"
    weight = 3
    reads = ("Invoice.Issued", *LINE_EVENTS, *INVOICE_EVENTS)
    tables = ("activity", "activity_invoices", "activity_locations")
    ddl = (
        """
        CREATE TABLE {schema}.activity (
            line_id uuid NOT NULL,
            position bigint NOT NULL,
            entry integer NOT NULL CHECK (entry > 0),
            recorded_at timestamptz NOT NULL,
            kind text NOT NULL,
            facts jsonb NOT NULL,
            invoice_id uuid,
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
        WITH c AS (
            SELECT b.originator_id AS line_id, b.position, b.recorded_at,
                   substring(b.topic from ':(.*)$') AS kind, b.event,
                   ll_uuid(b.event -> 'invoice_id') AS invoice_id
            FROM batch_events b
            WHERE b.topic IN ({_placeholders(LINE_EVENTS)}) AND b.position > %(lo)s
          UNION ALL
            SELECT i.line_id, b.position, b.recorded_at, substring(b.topic from ':(.*)$'),
                   b.event, b.originator_id
            FROM batch_events b
            JOIN {{schema}}.activity_invoices i ON i.invoice_id = b.originator_id
            WHERE b.topic IN ({_placeholders(INVOICE_EVENTS)}) AND b.position > %(lo)s
        ),
        -- Each line's entries so far, looked up once per line rather than once per entry.
        known AS (
            SELECT l.line_id,
                   (SELECT max(a.entry) FROM {{schema}}.activity a
                    WHERE a.line_id = l.line_id) AS entries
            FROM (SELECT DISTINCT line_id FROM c) l
        )
        INSERT INTO {{schema}}.activity
            (line_id, position, entry, recorded_at, kind, facts, invoice_id)
        SELECT c.line_id, c.position,
               coalesce(known.entries, 0)
               + row_number() OVER (PARTITION BY c.line_id ORDER BY c.position),
               c.recorded_at, c.kind,
               CASE WHEN c.kind = 'SubscriptionLine.CardAttached'
                    THEN jsonb_build_object('card', jsonb_build_object(
                        '_type_', 'card_display', '_data_', jsonb_build_object(
                        'brand', c.event -> 'card' -> '_data_' -> 'brand',
                        'last4', c.event -> 'card' -> '_data_' -> 'last4')))
                    ELSE c.event END,
               c.invoice_id
        FROM c LEFT JOIN known ON known.line_id = c.line_id
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
    sealer: Sealer | None = None,
) -> list[ActivityEntry]:
    """A line's feed in log order, from after a position (the previous page's last) onwards."""
    if not 1 <= limit <= FEED_PAGE_MAX:
        raise ValueError(f"a feed page holds 1 to {FEED_PAGE_MAX} entries, not {limit}")
    rows = conn.execute(
        FEED_QUERY.format(where="a.line_id = %(line)s AND a.position > %(after)s"),
        {"line": line_id, "after": after_position or 0, "limit": limit},
    ).fetchall()
    return _entries(rows, sealer)


def partner_feed(
    conn: psycopg.Connection[Any],
    partner_id: UUID,
    *,
    after: tuple[int, UUID] | None = None,
    limit: int = 50,
    sealer: Sealer | None = None,
) -> list[ActivityEntry]:
    """The feeds of all a partner's lines, merged in log order, from after the (position,
    line id) of the previous page's last entry. A line belongs to the partner that has it
    now (the ledger's `line_index`), so a line transferred in brings its history along."""
    if not 1 <= limit <= FEED_PAGE_MAX:
        raise ValueError(f"a feed page holds 1 to {FEED_PAGE_MAX} entries, not {limit}")
    rows = conn.execute(
        FEED_QUERY.format(
            where="a.line_id IN (SELECT line_id FROM line_index WHERE partner_id = %(partner)s) "
            "AND (a.position, a.line_id) > (%(after)s, %(after_line)s)"
        ),
        {
            "partner": partner_id,
            "after": after[0] if after else 0,
            "after_line": after[1] if after else UUID(int=0),
            "limit": limit,
        },
    ).fetchall()
    return _entries(rows, sealer)


# Invoice numbers and location names are looked up as the feed is read, so what is stored
# never depends on which events happened to share a batch.
FEED_QUERY = (
    "SELECT a.line_id, a.position, a.entry, a.recorded_at, a.kind, a.facts, i.number, "
    "l.name FROM activity a "
    "LEFT JOIN activity_invoices i ON i.line_id = a.line_id "
    "AND i.invoice_id = a.invoice_id "
    "LEFT JOIN activity_locations l ON l.line_id = a.line_id "
    "AND l.location_id = (a.facts -> 'location_id' ->> '_data_')::uuid "
    "WHERE {where} ORDER BY a.position, a.line_id LIMIT %(limit)s"
)


def _entries(rows: list[tuple[Any, ...]], sealer: Sealer | None) -> list[ActivityEntry]:
    return [
        ActivityEntry(
            line, position, entry, at, kind, describe(kind, facts, number, location, sealer)
        )
        for line, position, entry, at, kind, facts, number, location in rows
    ]


# --- in words ---------------------------------------------------------------------------
# The read model keeps each event's facts; the sentence is written when the feed is read, so
# a change of wording needs no rebuild.

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
SOURCES = {
    "card": "by card",
    "direct_debit": "by direct debit",
    "bank_transfer": "by bank transfer",
    "company_balance": "from the company balance",
    "bonus": "with bonuses",
    "cash": "in cash",
    "cheque": "by cheque",
}
BRANDS = {
    "visa": "Visa",
    "mastercard": "Mastercard",
    "amex": "American Express",
    "discover": "Discover",
    "diners": "Diners Club",
    "jcb": "JCB",
    "unionpay": "UnionPay",
}
TERMS = {"twelve_months": " a month, for 12 months", "annual": " a month, billed annually"}


def money_text(value: Any) -> str:
    """`{"amount_minor": 123456, "currency": "USD"}` reads `1,234.56 USD`, through the one
    formatter of money for people (ledger/formatting.py): nothing is ever rounded (R-X1)."""
    data = _data(value)
    minor, code = int(data["amount_minor"]), str(data["currency"])
    try:
        return format_money(minor, code)
    except UnknownCurrency:
        raise ValueError(f"no minor-unit exponent for currency {code!r}") from None


def describe(
    kind: str,
    facts: dict[str, Any],
    invoice_number: str | None = None,
    location_name: str | None = None,
    sealer: Sealer | None = None,
) -> str:
    """The English sentence for an event of a line's feed (R-H7)."""
    e = facts
    number = invoice_number or _text(e.get("invoice_id"))
    match kind:
        case "SubscriptionLine.Created":
            unit, term = _text(e["unit"]), _text(e["term"])
            if unit == "per_lead":
                price = " per lead"
            else:
                per = " per location" if unit == "per_location" else ""
                price = per + TERMS.get(term or "", " a month, billed monthly")
            count = len(_data(e.get("locations")) or [])
            where = {0: "", 1: ", for 1 location"}.get(count, f", for {count} locations")
            return (
                f"Created as a draft: {e['product_name']} at {money_text(e['unit_price'])}"
                f"{price}, paid by the {_text(e['payer'])}{where}."
            )
        case "SubscriptionLine.Sent":
            return "Sent to the customer to pay and accept."
        case "SubscriptionLine.Accepted":
            return "Accepted by the customer."
        case "SubscriptionLine.StartScheduled":
            return f"Set to start on {_day(e['starts_on'])}: activated and invoiced then."
        case "SubscriptionLine.Activated":
            return f"Activated: the first period is {_period(e['period'])}."
        case "SubscriptionLine.Renewed":
            return f"Renewed for {_period(e['period'])}."
        case "SubscriptionLine.Paused":
            return f"Paused: {e['reason']}."
        case "SubscriptionLine.Resumed":
            return "Resumed; the billing date has not moved."
        case "SubscriptionLine.Cancelled":
            return f"Cancelled on {_day(e['cancelled_on'])}: {e['reason']}."
        case "SubscriptionLine.LocationAdded":
            return f"Location {_data(e['location'])['name']} added."
        case "SubscriptionLine.LocationRemoved":
            return f"Location {location_name or _text(e['location_id'])} removed."
        case "SubscriptionLine.RemovedFromUnifiedBilling":
            return "Removed from unified billing: the client pays for it from now on."
        case "SubscriptionLine.AutopaySet":
            source = _text(e.get("source"))
            if source is None:
                return "Autopay turned off."
            return f"Autopay turned on: renewals are paid {_source(source)}."
        case "SubscriptionLine.CardAttached":
            card = _data(e["card"])
            brand = BRANDS.get(_text(card["brand"]) or "", "Card")
            return f"Card attached: {brand} ending in {card['last4']}."
        case "SubscriptionLine.Invoiced":
            period = _data(e.get("period"))
            during = f", for {_period(e['period'])}" if period else ""
            return f"Invoice {e['invoice_number']} issued for {money_text(e['amount'])}{during}."
        case "SubscriptionLine.InvoiceSettled":
            return f"Invoice {number} settled: nothing is owed on it any more."
        case "SubscriptionLine.InvoiceVoided":
            return f"Invoice {number} voided."
        case "SubscriptionLine.LeadRecorded":
            return f"Lead delivered on {_day(e['delivered_on'])}, charged {money_text(e['price'])}."
        case "SubscriptionLine.LeadsInvoiced":
            count = len(_data(e["lead_ids"]))
            leads = "1 lead" if count == 1 else f"{count} leads"
            return f"{leads} on invoice {number} for {money_text(e['amount'])}."
        case "SubscriptionLine.TransferRequested":
            request = _data(e["request"])
            billed = "monthly" if _text(request["billing"]) == "monthly" else "annually"
            return (
                f"Transfer of {_personal(sealer, request['end_user_name'])} to another reseller "
                "requested, "
                f"preferred date {_day(request['preferred_date'])}, billed {billed}, "
                f"paid {_source(_text(request['payment_method']))}."
            )
        case "SubscriptionLine.TransferConsentGiven":
            party = (_text(e["party"]) or "").replace("_", " ")
            return f"The {party} consented to the transfer."
        case "SubscriptionLine.TransferScheduled":
            return f"Transfer scheduled for {_day(e['effective_on'])}."
        case "SubscriptionLine.Transferred":
            billed = "monthly" if _text(e["term"]) == "monthly" else "annually"
            return f"Transferred to the new reseller on {_day(e['effective_on'])}, billed {billed}."
        case "Invoice.PaymentReceived":
            fee = e.get("fee")
            with_fee = (
                f", with a card fee of {money_text(fee)}"
                if fee and int(_data(fee)["amount_minor"]) > 0
                else ""
            )
            return (
                f"Payment of {money_text(e['amount'])} received {_source(_text(e['source']))} "
                f"for invoice {number}{with_fee}."
            )
        case "Invoice.PaymentFailed":
            return (
                f"Payment of {money_text(e['amount'])} {_source(_text(e['source']))} "
                f"for invoice {number} failed: {e['reason']}"
            )
        case "Invoice.PaymentPending":
            return f"Direct debit of {money_text(e['amount'])} submitted for invoice {number}."
        case "Invoice.PaymentRefunded":
            return (
                f"Refund of {money_text(e['amount'])} (paid {_source(_text(e['source']))}) "
                f"on invoice {number}: {e['reason']}."
            )
        case "Invoice.CreditNoteIssued":
            return (
                f"Credit note {e['credit_note_number']} of {money_text(e['amount'])} "
                f"on invoice {number}: {e['reason']}."
            )
        case "Invoice.MarkedOverdue":
            return f"Invoice {number} is overdue since {_day(e['overdue_on'])}."
    raise ValueError(f"the activity feed has no sentence for {kind!r}")


def _personal(sealer: Sealer | None, value: Any) -> Any:
    """A personal field of the facts (ledger/sealing.py): opened if a cipher key sealed it."""
    if isinstance(value, dict) and value.get("_type_") == SEALED:
        return reveal(sealer, str(value["_data_"]))
    return value


def _data(value: Any) -> Any:
    """The value inside a stored event's type tag (`{"_type_": …, "_data_": …}`)."""
    if isinstance(value, dict) and "_type_" in value:
        return value.get("_data_")
    return value


def _text(value: Any) -> str | None:
    data = _data(value)
    return None if data is None else str(data)


def _day(value: Any) -> str:
    day = date.fromisoformat(str(_data(value)))
    return _date_text(day)


def _date_text(day: date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def _period(value: Any) -> str:
    """A billing period by its first and last day (its stored end is exclusive)."""
    period = _data(value)
    start = date.fromisoformat(str(_data(period["start"])))
    end = date.fromisoformat(str(_data(period["end"]))) - timedelta(days=1)
    return f"{_date_text(start)} to {_date_text(end)}"


def _source(source: str | None) -> str:
    return SOURCES.get(source or "", "by other means")
