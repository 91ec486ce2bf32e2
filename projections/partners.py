"""The partner directory: one row per partner account, for `GET /v1/partners/{id}`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg

from projections.base import Projection


@dataclass(frozen=True)
class PartnerView:
    """A partner account as the read model shows it."""

    partner_id: UUID
    name: str
    currency: str
    time_zone: str
    opened_at: datetime
    position: int


class PartnerDirectory(Projection):
    """Every partner account, by id."""

    name = "partners"
    reads = ("PartnerAccount.Opened", "PartnerAccount.Closed")
    tables = ("partners",)
    ddl = (
        """
        CREATE TABLE {schema}.partners (
            partner_id uuid PRIMARY KEY,
            name text NOT NULL,
            currency char(3) NOT NULL,
            time_zone text NOT NULL,
            opened_at timestamptz NOT NULL,
            closed boolean NOT NULL DEFAULT false,
            position bigint NOT NULL
        )
        """,
    )
    statements = (
        """
        INSERT INTO {schema}.partners (partner_id, name, currency, time_zone, opened_at, position)
        SELECT originator_id, ll_personal(event -> 'name'), event ->> 'currency',
               event ->> 'time_zone', recorded_at, position
        FROM batch_events
        WHERE topic = {t_PartnerAccount_Opened} AND position > %(lo)s
        """,
        """
        UPDATE {schema}.partners p SET closed = true, position = b.position
        FROM batch_events b
        WHERE b.topic = {t_PartnerAccount_Closed} AND b.position > %(lo)s
          AND p.partner_id = b.originator_id
        """,
    )

    @staticmethod
    def get(conn: psycopg.Connection[Any], partner_id: UUID) -> PartnerView | None:
        """The partner with this id, if the projection has seen it."""
        row = conn.execute(
            "SELECT partner_id, name, currency, time_zone, opened_at, position "
            "FROM partners WHERE partner_id = %s",
            (partner_id,),
        ).fetchone()
        return PartnerView(*row) if row else None

    @staticmethod
    def page(
        conn: psycopg.Connection[Any],
        *,
        limit: int,
        after: UUID | None = None,
        only: UUID | None = None,
    ) -> list[PartnerView]:
        """Up to `limit` partners in id order after `after` (keyset); `only` keeps one partner."""
        rows = conn.execute(
            "SELECT partner_id, name, currency, time_zone, opened_at, position FROM partners "
            "WHERE (%(after)s::uuid IS NULL OR partner_id > %(after)s) "
            "AND (%(only)s::uuid IS NULL OR partner_id = %(only)s) "
            "ORDER BY partner_id LIMIT %(limit)s",
            {"after": after, "only": only, "limit": limit},
        ).fetchall()
        return [PartnerView(*row) for row in rows]
