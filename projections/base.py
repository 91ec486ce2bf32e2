"""Read models computed in SQL from the log, each in a versioned schema of its own.

A projection names its tables and the statements that bring them up to date with a batch of
events (staged in `batch_events`). Its rows live in a schema per generation,
`rm_<name>_<generation>`; readers query public views that point at the live generation, so a
rebuilt generation replaces the live one in one transaction and no reader ever sees a
half-built model.
"""

from __future__ import annotations

import hashlib
import json
import re
from abc import ABC
from functools import cache
from typing import Any, ClassVar

import psycopg
from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic
from psycopg import sql

from domain.billing_policy import PolicyHistory
from domain.bonus_wallet import BonusWallet
from domain.catalogue import CatalogueProduct
from domain.invoice import Invoice
from domain.partner_account import PartnerAccount
from domain.price_overrides import PartnerPrices
from domain.subscription_line import SubscriptionLine
from domain.test_clock import TestClock
from projections.sql import FUNCTIONS, SESSION_SETTINGS, STAGE_DDL

AGGREGATES: tuple[type[Aggregate], ...] = (
    PartnerAccount,
    SubscriptionLine,
    Invoice,
    BonusWallet,
    PolicyHistory,
    CatalogueProduct,
    PartnerPrices,
    TestClock,
)
"""Every aggregate whose events the log holds: a read model meets them all (a test clock's
events, issue 15, are read by none, and known to all)."""
PLACEHOLDER = re.compile(r"\{t_(\w+?)_(\w+)\}")

GENERATIONS_DDL = [
    """
    CREATE TABLE IF NOT EXISTS projection_generations (
        projection text NOT NULL,
        generation integer NOT NULL,
        version integer NOT NULL,
        position bigint NOT NULL DEFAULT 0 CHECK (position >= 0),
        live boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        promoted_at timestamptz,
        PRIMARY KEY (projection, generation)
    )
    """,
    """
    CREATE UNIQUE INDEX IF NOT EXISTS projection_generations_live
    ON projection_generations (projection) WHERE live
    """,
    # A generation the live runner stopped: the event it could not apply, and why. The runner
    # leaves it alone from then on (the others carry on); a restart retries it, a rebuild
    # replaces it. See projections/runner.py.
    """
    CREATE TABLE IF NOT EXISTS projection_stops (
        projection text NOT NULL,
        generation integer NOT NULL,
        position bigint NOT NULL CHECK (position > 0),
        topic text NOT NULL,
        reason text NOT NULL,
        stopped_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (projection, generation),
        FOREIGN KEY (projection, generation)
            REFERENCES projection_generations (projection, generation) ON DELETE CASCADE
    )
    """,
]


@cache
def event_topics() -> dict[str, str]:
    """Every domain event's topic by its short name (`Invoice.Issued`)."""
    topics: dict[str, str] = {}
    for aggregate in AGGREGATES:
        for name, value in vars(aggregate).items():
            if isinstance(value, type) and issubclass(value, Aggregate.Event) and name != "Event":
                topics[f"{aggregate.__name__}.{name}"] = get_topic(value)
    return topics


class Projection(ABC):
    """A read model: its version, the events it reads, its tables and how a batch changes them.

    Statements use `{schema}` for the generation's schema and `{t_Invoice_Issued}` for an
    event's topic, and the parameters `%(lo)s` and `%(hi)s`: the batch holds the events with
    positions in (lo, hi] that this projection has not applied yet.
    """

    name: ClassVar[str]
    version: ClassVar[int] = 1
    """Bump it when the rules or the shape change: the live generation then needs a rebuild."""
    reads: ClassVar[tuple[str, ...]]
    """Short names of the events it reads (`Invoice.Issued`)."""
    tables: ClassVar[tuple[str, ...]]
    """Its tables, each exposed as a public view of the same name."""
    ddl: ClassVar[tuple[str, ...]]
    weight: ClassVar[int] = 1
    """Its rebuild's relative cost (bench/rebuild.py), to share a rebuild of many among runners."""
    statements: ClassVar[tuple[str, ...]]

    def schema(self, generation: int) -> str:
        return f"rm_{self.name}_{generation}"

    def rules_digest(self) -> str:
        """SHA-256 of what decides its tables' contents: the events it reads, its tables, their
        DDL and its statements. A change to any of them is a new version (`version`); the
        digest of each version is recorded in tests/fixtures/projection_rules.json."""
        rules = [list(self.reads), list(self.tables), list(self.ddl), list(self.statements)]
        return hashlib.sha256(json.dumps(rules).encode()).hexdigest()

    def topics(self) -> list[str]:
        known = event_topics()
        return [known[short] for short in self.reads]

    def render(self, text: str, generation: int, *, schema: str | None = None) -> sql.Composed:
        """A statement with its schema (the generation's, or `schema`: a what-if's scratch
        copy) and event topics filled in."""
        known = event_topics()
        topics: dict[str, Any] = {}
        for aggregate, event in PLACEHOLDER.findall(text):
            topics[f"t_{aggregate}_{event}"] = sql.Literal(known[f"{aggregate}.{event}"])
        target = schema if schema is not None else self.schema(generation)
        return sql.SQL(text).format(schema=sql.Identifier(target), **topics)


def statement_topics(text: str) -> frozenset[str]:
    """The topics of the events a statement names through `{t_Aggregate_Event}` placeholders."""
    known = event_topics()
    return frozenset(known[f"{agg}.{event}"] for agg, event in PLACEHOLDER.findall(text))


def install_functions(conn: psycopg.Connection[Any]) -> None:
    """The SQL helpers and the generations table (idempotent)."""
    for statement in (*FUNCTIONS, *GENERATIONS_DDL):
        conn.execute(statement)


def stage(conn: psycopg.Connection[Any]) -> None:
    """Prepare a session to apply batches: its settings and its `batch_events` table."""
    for setting in SESSION_SETTINGS:
        conn.execute(setting)
    conn.execute(STAGE_DDL)
