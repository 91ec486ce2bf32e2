"""Cashback (R-C4, R-C5): what each partner's bonus wallet earned, spent and gave back.

Bonuses belong to the partner, not to a client (R-C5): what is available is one wallet balance
per partner, equal to the domain's `BonusWallet.balance`. What was earned is also kept per
client and per business month of `credited_on`, so a partner sees which of its clients, paying
their own lines, earned it the cashback (R-C4). Clawed back is what was actually taken from the
wallet; the shortfall is what a refund owed back but the wallet no longer held.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

import psycopg

from domain.money import Money
from projections.base import Projection


class Cashback(Projection):
    """Per partner: earned, spent, clawed back, shortfall, available; earned per client and
    month (R-C4, R-C5)."""

    name = "cashback"
    version = 2
    """2: lifetime totals are numeric (issue 11): each credit, spend or claw-back is at most
    AMOUNT_MAX_MINOR, but a partner's lifetime sum of them has no bound a bigint could hold."""
    reads = (
        "BonusWallet.Opened",
        "BonusWallet.Credited",
        "BonusWallet.Spent",
        "BonusWallet.ClawedBack",
    )
    tables = ("cashback_wallets", "cashback_earnings")
    ddl = (
        """
        CREATE TABLE {schema}.cashback_wallets (
            partner_id uuid PRIMARY KEY,
            currency char(3) NOT NULL,
            earned_minor numeric NOT NULL,
            spent_minor numeric NOT NULL,
            clawed_back_minor numeric NOT NULL,
            shortfall_minor numeric NOT NULL,
            position bigint NOT NULL,
            CHECK (earned_minor - spent_minor - clawed_back_minor >= 0)
        )
        """,
        # client_id is null for bonuses no client earned (a vendor's promotion).
        """
        CREATE TABLE {schema}.cashback_earnings (
            partner_id uuid NOT NULL,
            client_id uuid,
            month date NOT NULL,
            reason text NOT NULL,
            currency char(3) NOT NULL,
            earned_minor numeric NOT NULL,
            UNIQUE NULLS NOT DISTINCT (partner_id, client_id, month, reason)
        )
        """,
    )
    statements = (
        """
        INSERT INTO {schema}.cashback_wallets (partner_id, currency, earned_minor, spent_minor,
            clawed_back_minor, shortfall_minor, position)
        SELECT ll_uuid(event -> 'partner_id'), event ->> 'currency', 0, 0, 0, 0, position
        FROM batch_events WHERE topic = {t_BonusWallet_Opened} AND position > %(lo)s
        """,
        # The wallet is opened before its first credit, so its row is here to be updated.
        """
        UPDATE {schema}.cashback_wallets w SET
            earned_minor = w.earned_minor + m.earned,
            spent_minor = w.spent_minor + m.spent,
            clawed_back_minor = w.clawed_back_minor + m.clawed_back,
            shortfall_minor = w.shortfall_minor + m.shortfall,
            position = m.position
        FROM (
            SELECT ll_uuid(event -> 'partner_id') AS partner_id,
                   coalesce(sum(ll_minor(event -> 'amount'))
                            FILTER (WHERE topic = {t_BonusWallet_Credited}), 0) AS earned,
                   coalesce(sum(ll_minor(event -> 'amount'))
                            FILTER (WHERE topic = {t_BonusWallet_Spent}), 0) AS spent,
                   coalesce(sum(ll_minor(event -> 'amount'))
                            FILTER (WHERE topic = {t_BonusWallet_ClawedBack}), 0) AS clawed_back,
                   coalesce(sum(ll_minor(event -> 'shortfall'))
                            FILTER (WHERE topic = {t_BonusWallet_ClawedBack}), 0) AS shortfall,
                   max(position) AS position
            FROM batch_events
            WHERE topic IN ({t_BonusWallet_Credited}, {t_BonusWallet_Spent},
                            {t_BonusWallet_ClawedBack})
              AND position > %(lo)s
            GROUP BY 1
        ) m
        WHERE w.partner_id = m.partner_id
        """,
        """
        INSERT INTO {schema}.cashback_earnings AS e
            (partner_id, client_id, month, reason, currency, earned_minor)
        SELECT ll_uuid(event -> 'partner_id'), ll_uuid(event -> 'client_id'),
               date_trunc('month', ll_date(event -> 'credited_on'))::date,
               ll_text(event -> 'reason'), min(ll_currency(event -> 'amount')),
               sum(ll_minor(event -> 'amount'))
        FROM batch_events
        WHERE topic = {t_BonusWallet_Credited} AND position > %(lo)s
        GROUP BY 1, 2, 3, 4
        ON CONFLICT (partner_id, client_id, month, reason) DO UPDATE SET
            earned_minor = e.earned_minor + excluded.earned_minor
        """,
    )


@dataclass(frozen=True)
class PartnerCashback:
    """A partner's bonus wallet in figures (R-C5): the bonuses are the partner's, not a client's."""

    partner_id: UUID
    currency: str
    earned_minor: int
    """Cashback and promotions credited."""
    spent_minor: int
    """Bonuses that paid invoices, for any of the partner's lines."""
    clawed_back_minor: int
    """Cashback actually taken back after refunds."""
    shortfall_minor: int
    """Cashback owed back after refunds but not taken: the bonuses were already spent."""

    @property
    def available_minor(self) -> int:
        """What the wallet holds now: the domain's wallet balance."""
        return self.earned_minor - self.spent_minor - self.clawed_back_minor

    @property
    def available(self) -> Money:
        return Money(self.available_minor, self.currency)


@dataclass(frozen=True)
class ClientMonthCashback:
    """Bonuses credited to a partner in one business month for one client's payments (R-C4)."""

    client_id: UUID | None
    """None for bonuses no client earned (a promotion)."""
    month: date
    """The first day of the business month of `credited_on`."""
    reason: str
    currency: str
    earned_minor: int


def cashback_of(conn: psycopg.Connection[Any], partner_id: UUID) -> PartnerCashback | None:
    """The partner's cashback figures; None until its wallet is opened (on first cashback)."""
    row = conn.execute(
        "SELECT partner_id, currency, earned_minor, spent_minor, clawed_back_minor, "
        "shortfall_minor FROM cashback_wallets WHERE partner_id = %s",
        (partner_id,),
    ).fetchone()
    return PartnerCashback(row[0], str(row[1]), *map(int, row[2:])) if row else None


def cashback_by_client_month(
    conn: psycopg.Connection[Any], partner_id: UUID
) -> list[ClientMonthCashback]:
    """What the partner earned per client and business month, oldest month first."""
    rows = conn.execute(
        "SELECT client_id, month, reason, currency, earned_minor FROM cashback_earnings "
        "WHERE partner_id = %s ORDER BY month, client_id NULLS LAST, reason",
        (partner_id,),
    ).fetchall()
    return [ClientMonthCashback(c, m, r, str(cur), int(e)) for c, m, r, cur, e in rows]


NO_CLIENT = UUID(int=(1 << 128) - 1)
"""Where bonuses no client earned sort in a page of earnings: after every client."""


def cashback_page(
    conn: psycopg.Connection[Any],
    partner_id: UUID,
    *,
    limit: int,
    after: tuple[date, UUID, str] | None = None,
) -> list[ClientMonthCashback]:
    """Up to `limit` rows of `cashback_by_client_month`, in its order, after `after`, the
    (month, client id or `NO_CLIENT`, reason) of the previous page's last row (keyset)."""
    rows = conn.execute(
        "SELECT client_id, month, reason, currency, earned_minor FROM cashback_earnings "
        "WHERE partner_id = %(partner)s AND (%(month)s::date IS NULL OR "
        '(month, coalesce(client_id, %(none)s), reason COLLATE "C") '
        '> (%(month)s, %(client)s, %(reason)s COLLATE "C")) '
        'ORDER BY month, coalesce(client_id, %(none)s), reason COLLATE "C" LIMIT %(limit)s',
        {
            "partner": partner_id,
            "none": NO_CLIENT,
            "month": after[0] if after else None,
            "client": after[1] if after else None,
            "reason": after[2] if after else None,
            "limit": limit,
        },
    ).fetchall()
    return [ClientMonthCashback(c, m, r, str(cur), int(e)) for c, m, r, cur, e in rows]
