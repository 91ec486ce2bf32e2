"""Balances (R-X2): the journal of every entry, balances per account, the trial balance.

The entries are domain/postings.py's rules, turned from their declaration into SQL so a
rebuild runs at PostgreSQL's speed; tests/projections/test_balances.py proves for random
histories that the two agree entry for entry. Every balance is the sum of its entries, so
any balance, and the trial balance, can be had as of any log position or business date.

Beside the journal, the bank transfers a partner announced for its company balance and the
vendor has not yet confirmed (`announced_top_ups`, R-C2, R-H2): they move no money, so they
post nothing, but a partner reads them with its balance, as of the same log position.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

import psycopg

from domain.postings import ITEM, POSTINGS, AccountKind, AccountRule, PostingRule
from projections.base import Projection

VENDOR = UUID(int=0)
"""The owner recorded for the vendor's own accounts (cash clearing, revenue, expenses)."""

LINES = "l"
"""The alias of the items a rule posting once per item walks (an invoice's lines)."""


def _json(path: str) -> str:
    """The JSON at a rule's path: each step past the first enters a typed value's `_data_`."""
    first, *rest = path.split(".")
    head = f"{LINES}.item" if first == ITEM else f"b.event -> '{first}'"
    return "".join([head, *(f" -> '_data_' -> '{name}'" for name in rest)])


def _uuid(path: str | None) -> str:
    if path is None:
        return "NULL::uuid"
    return "b.originator_id" if path == "originator_id" else f"ll_uuid({_json(path)})"


def _kind(rule: AccountRule) -> str:
    if rule.picked_by is None:
        return f"'{rule.kind_for().value}'"
    picks = " ".join(f"WHEN '{value}' THEN '{kind.value}'" for value, kind in rule.picks)
    otherwise = f" ELSE '{rule.kind.value}'" if rule.kind else ""
    return f"CASE ll_text({_json(rule.picked_by)}) {picks}{otherwise} END"


def _transfers_of(rule: PostingRule) -> str:
    """The SQL of one posting rule: a row per transfer, as domain/postings.py reads it."""
    topic = "{t_" + rule.event.__qualname__.replace(".", "_") + "}"
    items = (
        f" CROSS JOIN LATERAL jsonb_array_elements(b.event -> '{rule.per_item}' -> '_data_')"
        f" WITH ORDINALITY AS {LINES}(item, ordinality)"
        if rule.per_item
        else ""
    )
    date = f"ll_date({_json(rule.dated_by)})" if rule.dated_by else "NULL::date"
    return f"""
    SELECT b.position, b.recorded_at, b.topic,
           {f"{LINES}.ordinality" if rule.per_item else "1"} AS item,
           {_uuid(rule.partner)} AS partner_id, {date} AS business_date,
           {_kind(rule.debit)} AS debit_kind, {_uuid(rule.debit.owner)} AS debit_owner,
           {_kind(rule.credit)} AS credit_kind, {_uuid(rule.credit.owner)} AS credit_owner,
           ll_minor({_json(rule.amount)}) AS amount, ll_currency({_json(rule.amount)}) AS currency
    FROM batch_events b{items}
    WHERE b.topic = {topic} AND b.position > %(lo)s"""


TRANSFERS = "\n  UNION ALL".join(_transfers_of(rule) for rule in POSTINGS)
"""One row per balanced transfer: what is debited, what is credited, how much. Generated from
domain/postings.py's declaration, the one source of the posting rules (a negative amount, a
discount line, posts the other way, as there)."""


class Balances(Projection):
    """The journal, account balances and the trial balance (R-X2)."""

    name = "balances"
    version = 4
    """2: account_balances' debits and credits are numeric (issue 11): an account's lifetime
    turnover, the vendor's cash clearing over every partner above all, grows with every event
    and has no bound a bigint could hold. Each journal entry is one amount, at most
    AMOUNT_MAX_MINOR (domain/money.py), so it stays a bigint; the queries' sums are numeric.
    3: account_balances names the partner of an account's first entry; it named the lowest
    partner id of the first batch, so a client billed by two resellers (R-E1) had another
    partner live than rebuilt (issue 11, found by tests/ledger/test_stateful.py).
    4: the top-ups announced and not yet confirmed (`announced_top_ups`, issue 16): the balance
    read loaded the partner's account from the event store for them, as of now rather than as
    of the read model's position."""
    weight = 4
    reads = (
        "PartnerAccount.Opened",
        "PartnerAccount.TopUpAnnounced",
        *(rule.event.__qualname__ for rule in POSTINGS),
    )
    tables = ("journal", "account_balances", "balance_partners", "announced_top_ups")
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
        # One row per transfer announced and not yet confirmed. Each amount is at most
        # AMOUNT_MAX_MINOR, and a partner's together at most BALANCE_MAX_MINOR (the account
        # refuses an announcement past it, domain/money.py): a bigint holds either.
        """
        CREATE TABLE {schema}.announced_top_ups (
            partner_id uuid NOT NULL,
            top_up_id uuid NOT NULL,
            amount_minor bigint NOT NULL CHECK (amount_minor > 0),
            currency char(3) NOT NULL,
            position bigint NOT NULL,
            PRIMARY KEY (partner_id, top_up_id)
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
        # Announced, then confirmed (the top-up recorded with the announced id, the only event
        # that takes one away; closing the account keeps them, as the account does): in this
        # order, so a transfer announced and confirmed in one batch leaves no row. Each
        # transfer's latest announcement in the batch is kept, and replaces an older row: a
        # top-up id announced again once confirmed is waiting again. The runner applies a batch
        # once; applied again all the same, these two change nothing (the insert keeps the
        # newer row, the delete takes only rows older than their confirmation).
        """
        INSERT INTO {schema}.announced_top_ups AS a
            (partner_id, top_up_id, amount_minor, currency, position)
        SELECT DISTINCT ON (originator_id, ll_uuid(event -> 'top_up_id'))
               originator_id, ll_uuid(event -> 'top_up_id'), ll_minor(event -> 'amount'),
               ll_currency(event -> 'amount'), position
        FROM batch_events
        WHERE topic = {t_PartnerAccount_TopUpAnnounced} AND position > %(lo)s
        ORDER BY originator_id, ll_uuid(event -> 'top_up_id'), position DESC
        ON CONFLICT (partner_id, top_up_id) DO UPDATE SET
            amount_minor = excluded.amount_minor,
            currency = excluded.currency,
            position = excluded.position
        WHERE a.position < excluded.position
        """,
        """
        DELETE FROM {schema}.announced_top_ups a
        USING batch_events b
        WHERE b.topic = {t_PartnerAccount_BalanceToppedUp} AND b.position > %(lo)s
          AND a.partner_id = b.originator_id AND a.top_up_id = ll_uuid(b.event -> 'top_up_id')
          AND a.position < b.position
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


@dataclass(frozen=True)
class PartnerMoney:
    """A partner's money as the partner reads it (R-C2, R-C5, R-X2): the liabilities (its
    company balance, its bonus wallet) are credit balances, owed to it, so shown negated; and
    apart, the transfers it announced for its balance, not yet confirmed (R-C2, R-H2)."""

    company_balance_minor: int
    receivable_minor: int
    bonus_wallet_minor: int
    announced_top_ups_minor: int


PARTNER_MONEY_KINDS = (
    AccountKind.PREPAID_BALANCE.value,
    AccountKind.RECEIVABLE.value,
    AccountKind.BONUS_LIABILITY.value,
)
ANNOUNCED = "announced_top_ups"
"""The row of `partner_money`'s query that holds the announced transfers' sum."""


def partner_money(conn: psycopg.Connection[Any], partner_id: UUID, currency: str) -> PartnerMoney:
    """A partner's company balance, receivable and bonus wallet in its currency, from the
    running totals, and its announced top-ups: one statement, so all as of one snapshot of
    the read model; keyed lookups only (no journal is summed, no aggregate loaded)."""
    rows = conn.execute(
        "SELECT account_kind, debit_minor - credit_minor FROM account_balances "
        "WHERE account_kind = ANY(%(kinds)s) AND owner_id = %(partner)s "
        "AND currency = %(currency)s "
        "UNION ALL SELECT %(announced)s, sum(amount_minor) FROM announced_top_ups "
        "WHERE partner_id = %(partner)s AND currency = %(currency)s",
        {
            "kinds": list(PARTNER_MONEY_KINDS),
            "partner": partner_id,
            "currency": currency,
            "announced": ANNOUNCED,
        },
    ).fetchall()
    held = {str(kind): int(amount or 0) for kind, amount in rows}
    return PartnerMoney(
        company_balance_minor=-held.get(AccountKind.PREPAID_BALANCE.value, 0),
        receivable_minor=held.get(AccountKind.RECEIVABLE.value, 0),
        bonus_wallet_minor=-held.get(AccountKind.BONUS_LIABILITY.value, 0),
        announced_top_ups_minor=held[ANNOUNCED],
    )
