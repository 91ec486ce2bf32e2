"""Balances (R-X2): the journal of every entry, balances per account, the trial balance.

The entries are domain/postings.py's rules, written in SQL so a rebuild runs at PostgreSQL's
speed; tests/projections/test_balances.py proves for random histories that the two agree
entry for entry. Every balance is the sum of its entries, so any balance, and the trial
balance, can be had as of any log position or business date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

import psycopg

from projections.base import Projection

VENDOR = UUID(int=0)
"""The owner recorded for the vendor's own accounts (cash clearing, revenue, expenses)."""

ACCOUNT_KIND_OF_LINE = """
    CASE ll_text(l.item -> '_data_' -> 'kind')
        WHEN 'product' THEN 'revenue_subscriptions'
        WHEN 'lead' THEN 'revenue_leads'
        WHEN 'card_fee' THEN 'card_fee_revenue'
        WHEN 'discount' THEN 'discounts'
    END
"""

TRANSFERS = f"""
    SELECT b.position, b.recorded_at, b.topic, l.ordinality AS item,
           ll_uuid(b.event -> 'partner_id') AS partner_id,
           ll_date(b.event -> 'issued_on') AS business_date,
           'receivable' AS debit_kind, ll_uuid(b.event -> 'payer_id') AS debit_owner,
           {ACCOUNT_KIND_OF_LINE} AS credit_kind, NULL::uuid AS credit_owner,
           ll_minor(l.item -> '_data_' -> 'amount') AS amount,
           ll_currency(l.item -> '_data_' -> 'amount') AS currency
    FROM batch_events b CROSS JOIN LATERAL jsonb_array_elements(b.event -> 'lines' -> '_data_')
         WITH ORDINALITY AS l(item, ordinality)
    WHERE b.topic = {{t_Invoice_Issued}} AND b.position > %(lo)s
  UNION ALL
    SELECT b.position, b.recorded_at, b.topic, 1,
           ll_uuid(b.event -> 'partner_id'), NULL,
           'receivable', ll_uuid(b.event -> 'payer_id'),
           'card_fee_revenue', NULL, ll_minor(b.event -> 'line' -> '_data_' -> 'amount'),
           ll_currency(b.event -> 'line' -> '_data_' -> 'amount')
    FROM batch_events b WHERE b.topic = {{t_Invoice_CardFeeAdded}} AND b.position > %(lo)s
  UNION ALL
    SELECT b.position, b.recorded_at, b.topic, 1,
           ll_uuid(b.event -> 'partner_id'), ll_date(b.event -> 'received_on'),
           CASE WHEN ll_text(b.event -> 'source') IN ('company_balance', 'bonus')
                THEN 'internal_transfers' ELSE 'cash_clearing' END, NULL,
           'receivable', ll_uuid(b.event -> 'payer_id'),
           ll_minor(b.event -> 'amount'), ll_currency(b.event -> 'amount')
    FROM batch_events b WHERE b.topic = {{t_Invoice_PaymentReceived}} AND b.position > %(lo)s
  UNION ALL
    SELECT b.position, b.recorded_at, b.topic, 1,
           ll_uuid(b.event -> 'partner_id'), ll_date(b.event -> 'refunded_on'),
           'refunds', NULL,
           CASE WHEN ll_text(b.event -> 'source') IN ('company_balance', 'bonus')
                THEN 'internal_transfers' ELSE 'cash_clearing' END, NULL,
           ll_minor(b.event -> 'amount'), ll_currency(b.event -> 'amount')
    FROM batch_events b WHERE b.topic = {{t_Invoice_PaymentRefunded}} AND b.position > %(lo)s
  UNION ALL
    SELECT b.position, b.recorded_at, b.topic, 1,
           ll_uuid(b.event -> 'partner_id'),
           coalesce(ll_date(b.event -> 'voided_on'), ll_date(b.event -> 'issued_on')),
           'revenue_adjustments', NULL, 'receivable', ll_uuid(b.event -> 'payer_id'),
           ll_minor(b.event -> 'amount'), ll_currency(b.event -> 'amount')
    FROM batch_events b
    WHERE b.topic IN ({{t_Invoice_Voided}}, {{t_Invoice_CreditNoteIssued}}) AND b.position > %(lo)s
  UNION ALL
    SELECT b.position, b.recorded_at, b.topic, 1,
           b.originator_id, NULL, 'cash_clearing', NULL,
           'prepaid_balance', b.originator_id,
           ll_minor(b.event -> 'amount'), ll_currency(b.event -> 'amount')
    FROM batch_events b WHERE b.topic = {{t_PartnerAccount_BalanceToppedUp}} AND b.position > %(lo)s
  UNION ALL
    SELECT b.position, b.recorded_at, b.topic, 1,
           b.originator_id, NULL, 'prepaid_balance', b.originator_id,
           'internal_transfers', NULL,
           ll_minor(b.event -> 'amount'), ll_currency(b.event -> 'amount')
    FROM batch_events b WHERE b.topic = {{t_PartnerAccount_BalanceSpent}} AND b.position > %(lo)s
  UNION ALL
    SELECT b.position, b.recorded_at, b.topic, 1,
           b.originator_id, NULL, 'internal_transfers', NULL,
           'prepaid_balance', b.originator_id,
           ll_minor(b.event -> 'amount'), ll_currency(b.event -> 'amount')
    FROM batch_events b
    WHERE b.topic = {{t_PartnerAccount_BalanceRestored}} AND b.position > %(lo)s
  UNION ALL
    SELECT b.position, b.recorded_at, b.topic, 1,
           ll_uuid(b.event -> 'partner_id'), ll_date(b.event -> 'credited_on'),
           CASE ll_text(b.event -> 'reason') WHEN 'cashback' THEN 'cashback_expense'
                ELSE 'promotion_expense' END, NULL,
           'bonus_liability', ll_uuid(b.event -> 'partner_id'),
           ll_minor(b.event -> 'amount'), ll_currency(b.event -> 'amount')
    FROM batch_events b WHERE b.topic = {{t_BonusWallet_Credited}} AND b.position > %(lo)s
  UNION ALL
    SELECT b.position, b.recorded_at, b.topic, 1,
           ll_uuid(b.event -> 'partner_id'), ll_date(b.event -> 'spent_on'),
           'bonus_liability', ll_uuid(b.event -> 'partner_id'), 'internal_transfers', NULL,
           ll_minor(b.event -> 'amount'), ll_currency(b.event -> 'amount')
    FROM batch_events b WHERE b.topic = {{t_BonusWallet_Spent}} AND b.position > %(lo)s
  UNION ALL
    SELECT b.position, b.recorded_at, b.topic, 1,
           ll_uuid(b.event -> 'partner_id'), ll_date(b.event -> 'clawed_on'),
           'bonus_liability', ll_uuid(b.event -> 'partner_id'), 'cashback_expense', NULL,
           ll_minor(b.event -> 'amount'), ll_currency(b.event -> 'amount')
    FROM batch_events b WHERE b.topic = {{t_BonusWallet_ClawedBack}} AND b.position > %(lo)s
"""
"""One row per balanced transfer: what is debited, what is credited, how much (the rules of
domain/postings.py; a negative amount, a discount line, posts the other way)."""


class Balances(Projection):
    """The journal, account balances and the trial balance (R-X2)."""

    name = "balances"
    version = 3
    """2: account_balances' debits and credits are numeric (issue 11): an account's lifetime
    turnover, the vendor's cash clearing over every partner above all, grows with every event
    and has no bound a bigint could hold. Each journal entry is one amount, at most
    AMOUNT_MAX_MINOR (domain/money.py), so it stays a bigint; the queries' sums are numeric.
    3: account_balances names the partner of an account's first entry; it named the lowest
    partner id of the first batch, so a client billed by two resellers (R-E1) had another
    partner live than rebuilt (issue 11, found by tests/ledger/test_stateful.py)."""
    weight = 4
    reads = (
        "PartnerAccount.Opened",
        "PartnerAccount.BalanceToppedUp",
        "PartnerAccount.BalanceSpent",
        "PartnerAccount.BalanceRestored",
        "Invoice.Issued",
        "Invoice.CardFeeAdded",
        "Invoice.PaymentReceived",
        "Invoice.PaymentRefunded",
        "Invoice.Voided",
        "Invoice.CreditNoteIssued",
        "BonusWallet.Credited",
        "BonusWallet.Spent",
        "BonusWallet.ClawedBack",
    )
    tables = ("journal", "account_balances", "balance_partners")
    ddl = (
        """
        CREATE TABLE {schema}.balance_partners (
            partner_id uuid PRIMARY KEY,
            time_zone text NOT NULL
        )
        """,
        """
        CREATE TABLE {schema}.journal (
            position bigint NOT NULL,
            entry integer NOT NULL,  -- order within the event: debit, credit per item
            partner_id uuid NOT NULL,
            account_kind text NOT NULL,
            owner_id uuid NOT NULL,
            side text NOT NULL CHECK (side IN ('debit', 'credit')),
            amount_minor bigint NOT NULL CHECK (amount_minor > 0),
            currency char(3) NOT NULL,
            recorded_at timestamptz NOT NULL,
            business_date date NOT NULL,
            event text NOT NULL,
            PRIMARY KEY (position, entry)
        )
        """,
        "CREATE INDEX ON {schema}.journal (partner_id, position)",
        "CREATE INDEX ON {schema}.journal (account_kind, owner_id, currency)",
        """
        CREATE TABLE {schema}.account_balances (
            account_kind text NOT NULL,
            owner_id uuid NOT NULL,
            currency char(3) NOT NULL,
            partner_id uuid,
            debit_minor numeric NOT NULL,
            credit_minor numeric NOT NULL,
            position bigint NOT NULL,
            PRIMARY KEY (account_kind, owner_id, currency)
        )
        """,
    )
    statements = (
        """
        INSERT INTO {schema}.balance_partners (partner_id, time_zone)
        SELECT originator_id, event ->> 'time_zone' FROM batch_events
        WHERE topic = {t_PartnerAccount_Opened} AND position > %(lo)s
        """,
        f"""
        INSERT INTO {{schema}}.journal
        SELECT legs.position, (legs.item - 1) * 2 + legs.leg,
               legs.partner_id, legs.kind, coalesce(legs.owner, '{VENDOR}'::uuid), legs.side,
               legs.amount, legs.currency, legs.recorded_at,
               coalesce(legs.business_date, (legs.recorded_at AT TIME ZONE p.time_zone)::date),
               substring(legs.topic from ':(.*)$')
        FROM (
            SELECT t.position, t.recorded_at, t.topic, t.item, t.partner_id, t.business_date,
                   t.currency, leg.*, abs(t.amount) AS amount
            FROM ({TRANSFERS}) t
            CROSS JOIN LATERAL (VALUES
                (CASE WHEN t.amount > 0 THEN 1 ELSE 2 END,
                 CASE WHEN t.amount > 0 THEN 'debit' ELSE 'credit' END,
                 t.debit_kind, t.debit_owner),
                (CASE WHEN t.amount > 0 THEN 2 ELSE 1 END,
                 CASE WHEN t.amount > 0 THEN 'credit' ELSE 'debit' END,
                 t.credit_kind, t.credit_owner)
            ) AS leg(leg, side, kind, owner)
            WHERE t.amount <> 0
        ) legs
        LEFT JOIN {{schema}}.balance_partners p ON p.partner_id = legs.partner_id
        """,
        """
        INSERT INTO {schema}.account_balances AS a
            (account_kind, owner_id, currency, partner_id, debit_minor, credit_minor, position)
        SELECT account_kind, owner_id, currency,
               -- A client's receivable can hold entries of two resellers (R-E1): the row
               -- names the one of its first entry, whatever batches the log was cut into
               -- (a later batch never changes it), so live and rebuilt rows are the same.
               CASE WHEN account_kind IN ('receivable', 'prepaid_balance', 'bonus_liability')
                    THEN (array_agg(partner_id ORDER BY position, entry))[1] END,
               coalesce(sum(amount_minor) FILTER (WHERE side = 'debit'), 0),
               coalesce(sum(amount_minor) FILTER (WHERE side = 'credit'), 0),
               max(position)
        FROM {schema}.journal
        WHERE position > %(lo)s AND position <= %(hi)s
        GROUP BY account_kind, owner_id, currency
        ON CONFLICT (account_kind, owner_id, currency) DO UPDATE SET
            debit_minor = a.debit_minor + excluded.debit_minor,
            credit_minor = a.credit_minor + excluded.credit_minor,
            position = excluded.position
        """,
    )


@dataclass(frozen=True)
class AccountBalance:
    """What an account of the chart holds: debits minus credits, in minor units."""

    account_kind: str
    owner_id: UUID | None
    currency: str
    debit_minor: int
    credit_minor: int

    @property
    def balance_minor(self) -> int:
        return self.debit_minor - self.credit_minor


def trial_balance(
    conn: psycopg.Connection[Any],
    *,
    position: int | None = None,
    on: date | None = None,
) -> dict[str, tuple[int, int]]:
    """Debits and credits per currency, now, as of a log position, or as of a business date."""
    rows = conn.execute(
        "SELECT currency, sum(amount_minor) FILTER (WHERE side = 'debit'), "
        "sum(amount_minor) FILTER (WHERE side = 'credit') FROM journal "
        "WHERE (%(position)s::bigint IS NULL OR position <= %(position)s) "
        "AND (%(on)s::date IS NULL OR business_date <= %(on)s) GROUP BY currency ORDER BY currency",
        {"position": position, "on": on},
    ).fetchall()
    return {str(c): (int(d or 0), int(k or 0)) for c, d, k in rows}


def balances(
    conn: psycopg.Connection[Any],
    *,
    partner_id: UUID | None = None,
    position: int | None = None,
    on: date | None = None,
) -> list[AccountBalance]:
    """Account balances (of one partner's accounts, or all), summed from the journal."""
    rows = conn.execute(
        "SELECT account_kind, owner_id, currency, "
        "coalesce(sum(amount_minor) FILTER (WHERE side = 'debit'), 0), "
        "coalesce(sum(amount_minor) FILTER (WHERE side = 'credit'), 0) FROM journal "
        "WHERE (%(partner)s::uuid IS NULL OR partner_id = %(partner)s) "
        "AND (%(position)s::bigint IS NULL OR position <= %(position)s) "
        "AND (%(on)s::date IS NULL OR business_date <= %(on)s) "
        "GROUP BY account_kind, owner_id, currency ORDER BY account_kind, owner_id, currency",
        {"partner": partner_id, "position": position, "on": on},
    ).fetchall()
    return [
        AccountBalance(kind, None if owner == VENDOR else owner, currency, int(d), int(k))
        for kind, owner, currency, d, k in rows
    ]


def account_totals(
    conn: psycopg.Connection[Any],
    *,
    position: int | None = None,
    on: date | None = None,
) -> list[AccountBalance]:
    """Each account of the chart summed over its owners, per currency (a trial balance's rows).

    Bounded by the chart (a dozen kinds) times the currencies, however many partners there are.
    """
    rows = conn.execute(
        "SELECT account_kind, currency, "
        "coalesce(sum(amount_minor) FILTER (WHERE side = 'debit'), 0), "
        "coalesce(sum(amount_minor) FILTER (WHERE side = 'credit'), 0) FROM journal "
        "WHERE (%(position)s::bigint IS NULL OR position <= %(position)s) "
        "AND (%(on)s::date IS NULL OR business_date <= %(on)s) "
        "GROUP BY account_kind, currency ORDER BY currency, account_kind",
        {"position": position, "on": on},
    ).fetchall()
    return [AccountBalance(kind, None, currency, int(d), int(k)) for kind, currency, d, k in rows]


@dataclass(frozen=True)
class JournalEntry:
    """One entry of the journal on one account: an event's debit or credit to it."""

    position: int
    entry: int
    side: str
    """'debit' or 'credit'."""
    amount_minor: int
    currency: str
    business_date: date
    event: str
    """The event that posted it, as `Aggregate.Event` (`BonusWallet.Credited`)."""


def account_entries(
    conn: psycopg.Connection[Any],
    account_kind: str,
    owner_id: UUID,
    *,
    limit: int,
    before: tuple[int, int] | None = None,
) -> list[JournalEntry]:
    """An account's entries, newest first, before `(position, entry)` (keyset)."""
    rows = conn.execute(
        "SELECT position, entry, side, amount_minor, currency, business_date, event "
        "FROM journal WHERE account_kind = %(kind)s AND owner_id = %(owner)s "
        "AND (%(position)s::bigint IS NULL OR (position, entry) < (%(position)s, %(entry)s)) "
        "ORDER BY position DESC, entry DESC LIMIT %(limit)s",
        {
            "kind": account_kind,
            "owner": owner_id,
            "position": before[0] if before else None,
            "entry": before[1] if before else None,
            "limit": limit,
        },
    ).fetchall()
    return [
        JournalEntry(int(p), int(e), str(s), int(a), str(c), d, str(ev))
        for p, e, s, a, c, d, ev in rows
    ]


def owner_balances(
    conn: psycopg.Connection[Any], owner_id: UUID, account_kinds: tuple[str, ...]
) -> list[AccountBalance]:
    """One owner's accounts of these kinds, from the running totals (no journal is summed)."""
    rows = conn.execute(
        "SELECT account_kind, owner_id, currency, debit_minor, credit_minor "
        "FROM account_balances WHERE account_kind = ANY(%s) AND owner_id = %s "
        "ORDER BY account_kind, currency",
        (list(account_kinds), owner_id),
    ).fetchall()
    return [
        AccountBalance(kind, owner, str(cur), int(d), int(k)) for kind, owner, cur, d, k in rows
    ]
