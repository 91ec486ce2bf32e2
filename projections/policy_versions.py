"""The billing policy's versions: one row per scheduled change, for `GET /v1/policy`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import psycopg

from domain.billing_policy import PolicyChange
from projections.base import Projection


@dataclass(frozen=True)
class PolicyVersionView:
    """A scheduled change of the billing policy as the read model shows it."""

    change: PolicyChange
    scheduled_at: datetime
    position: int


class PolicyVersions(Projection):
    """Every version of the billing policy after version 0, by number."""

    name = "policy_versions"
    reads = ("PolicyHistory.ChangeScheduled",)
    tables = ("policy_versions",)
    ddl = (
        """
        CREATE TABLE {schema}.policy_versions (
            version integer PRIMARY KEY CHECK (version > 0),
            effective_from date NOT NULL,
            changes jsonb NOT NULL,
            scheduled_at timestamptz NOT NULL,
            position bigint NOT NULL
        )
        """,
    )
    statements = (
        """
        INSERT INTO {schema}.policy_versions
            (version, effective_from, changes, scheduled_at, position)
        SELECT (event ->> 'version')::integer, ll_date(event -> 'effective_from'),
               event -> 'changes', recorded_at, position
        FROM batch_events
        WHERE topic = {t_PolicyHistory_ChangeScheduled} AND position > %(lo)s
        """,
    )

    @staticmethod
    def all(conn: psycopg.Connection[Any]) -> list[PolicyVersionView]:
        """Every version, in order (at most POLICY_VERSIONS_MAX: the policy keeps no more)."""
        rows = conn.execute(
            "SELECT version, effective_from, changes, scheduled_at, position "
            "FROM policy_versions ORDER BY version"
        ).fetchall()
        return [_view(*row) for row in rows]


def _view(
    version: int, effective_from: date, changes: dict[str, str], scheduled_at: datetime, pos: int
) -> PolicyVersionView:
    return PolicyVersionView(
        PolicyChange(version, effective_from, dict(changes)), scheduled_at, pos
    )
