"""The partner directory: one row per partner account, for `GET /v1/partners/{id}`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg

from domain.partner_account import PartnerAccount
from projections.projector import Projected, Projection


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
    event_classes = (PartnerAccount.Opened,)

    def create_tables(self, conn: psycopg.Connection[Any]) -> None:
        conn.execute(
            """
            CREATE TABLE IF NOT EXISTS partners (
                partner_id uuid PRIMARY KEY,
                name text NOT NULL,
                currency char(3) NOT NULL,
                time_zone text NOT NULL,
                opened_at timestamptz NOT NULL,
                position bigint NOT NULL
            )
            """
        )

    def apply(self, conn: psycopg.Connection[Any], batch: Sequence[Projected]) -> None:
        rows = [
            (e.originator_id, e.name, e.currency, e.time_zone, e.timestamp, item.position)
            for item in batch
            if isinstance(e := item.event, PartnerAccount.Opened)
        ]
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO partners (partner_id, name, currency, time_zone, opened_at, position)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                rows,
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
