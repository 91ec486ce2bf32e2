"""What-if: the history re-decided under proposed rules, beside the live read models (issue 14).

`what_if` copies the log (or one partner's part of it) into a temporary table, decides its
rule-derived amounts again under the proposal (replay/what_if_redecide.py), applies the read
models that hold money (balances, invoices, cashback) to that copy with their own statements,
into temporary tables, and compares them with the live generations per partner
(replay/what_if_report.py).

It never writes what others read: the scratch tables are temporary (the session's own, gone
when its connection closes, even if the process is killed), and everything after they are
created runs in one REPEATABLE READ, READ ONLY transaction that is rolled back, so PostgreSQL
itself refuses any write to the log or to the live read models, and the copy, the live tables
and their positions are read in one snapshot.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from domain.billing_policy import PolicyChange
from domain.calendar import Term
from domain.errors import PartnerNotFound, UnknownProduct
from domain.pricing import BillingPolicy
from ledger import store
from ledger.database import Database
from projections import generations
from projections.balances import Balances
from projections.base import Projection, event_topics, stage
from projections.cashback import Cashback
from projections.invoices import InvoiceHistory
from replay.what_if_events import (
    AFTER,
    READS,
    SPACING,
    LineFact,
    LoggedEvent,
    Proposal,
    Redecided,
    day_of,
    proposal,
    text_of,
)
from replay.what_if_redecide import Redecider
from replay.what_if_report import WhatIf, compare

__all__ = ["SCRATCH", "NotComparable", "Progress", "Proposal", "WhatIf", "proposal", "what_if"]

SCRATCH = "pg_temp"
"""Where the scratch copies of the read models are made: the session's temporary schema."""
MODELS: tuple[Projection, ...] = (Balances(), InvoiceHistory(), Cashback())
"""The read models that hold money, in which the proposed amounts show."""
STEPS = 5
Progress = Callable[[str, int, int], None]
"""Told what is being done, and how many of the steps are done."""


class NotComparable(Exception):
    """The live read models cannot be compared with a what-if: missing, or built by rules of
    another version of the code (rebuild them first)."""


def what_if(
    database: Database,
    wanted: Proposal,
    *,
    partner_id: UUID | None = None,
    base: BillingPolicy | None = None,
    progress: Progress | None = None,
) -> WhatIf:
    """The differences the proposal makes, per partner, against the live read models.

    `base` is the deployment's version 0 of the policy (`BillingPolicy()` unless configured);
    an unknown `partner_id` is refused with `PartnerNotFound`.
    """

    def told(step: str, done: int) -> None:
        if progress is not None:
            progress(step, done, STEPS)

    with database.connect() as conn:
        told("Making the scratch tables", 0)
        _make_scratch(conn)
        conn.autocommit = False
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        try:
            lives = _live_generations(conn)
            if partner_id is not None and not _partner_exists(conn, partner_id):
                raise PartnerNotFound.of(partner_id)
            _check_prices(conn, wanted)
            position = max(g.position for g in lives.values())
            told("Copying the log", 1)
            copied = _copy_log(conn, position, partner_id)
            told("Deciding the amounts again", 2)
            redecided = Redecider(
                wanted,
                base or BillingPolicy(),
                _policy_changes(conn, position),
                _line_facts(conn, position),
            ).run(_events(conn))
            _write_back(conn, redecided)
            told("Applying the read models", 3)
            for model in MODELS:
                _apply(conn, model, lives[model.name].position)
            told("Comparing with the live read models", 4)
            result = compare(
                conn,
                {model.name: model.schema(lives[model.name].generation) for model in MODELS},
                SCRATCH,
                partner_id,
            )
            told("Done", STEPS)
        finally:
            conn.rollback()
    return WhatIf(
        changes=dict(wanted.changes),
        prices={f"{code}@{currency}": amount for (code, currency), amount in wanted.prices.items()},
        from_day=wanted.from_day,
        partner_id=partner_id,
        position=position,
        events_read=copied,
        events_redecided=redecided.count,
        partners=result.partners,
        differences=result.differences,
    )


def _make_scratch(conn: psycopg.Connection[Any]) -> None:
    """The session's temporary tables: the log's copy, a batch, and each read model's tables.

    Their CHECK constraints are dropped: the proposed rules may take a wallet below zero
    (bonuses spent that would not have been earned), which a what-if shows rather than refuses.
    """
    stage(conn)
    conn.execute(
        "CREATE TEMP TABLE whatif_events (position bigint PRIMARY KEY, originator_id uuid NOT "
        "NULL, version bigint NOT NULL, topic text NOT NULL, event jsonb NOT NULL)"
    )
    for model in MODELS:
        for statement in model.ddl:
            conn.execute(model.render(statement, 0, schema=SCRATCH))
    checks = conn.execute(
        "SELECT c.conrelid::regclass::text, c.conname FROM pg_constraint c "
        "JOIN pg_class t ON t.oid = c.conrelid "
        "WHERE t.relnamespace = pg_my_temp_schema() AND c.contype = 'c'"
    ).fetchall()
    for table, name in checks:
        conn.execute(
            sql.SQL("ALTER TABLE {}.{} DROP CONSTRAINT {}").format(
                sql.Identifier(SCRATCH),
                sql.Identifier(str(table).rsplit(".", 1)[-1]),
                sql.Identifier(str(name)),
            )
        )


def _live_generations(conn: psycopg.Connection[Any]) -> dict[str, generations.Generation]:
    lives = {}
    for model in MODELS:
        live = generations.live(conn, model.name)
        if live is None:
            raise NotComparable(f"The {model.name} read model has no live generation yet.")
        if live.version != model.version:
            raise NotComparable(
                f"The live {model.name} read model was built by version {live.version} of its "
                f"rules, this code has version {model.version}: rebuild it first "
                "(`ledgerline projections rebuild`)."
            )
        lives[model.name] = live
    return lives


def _topic(short: str) -> str:
    return event_topics()[short]


def _partner_exists(conn: psycopg.Connection[Any], partner_id: UUID) -> bool:
    row = conn.execute(
        sql.SQL("SELECT 1 FROM {} WHERE originator_id = %s AND topic = %s LIMIT 1").format(
            sql.Identifier(store.EVENTS_TABLE)
        ),
        (partner_id, _topic("PartnerAccount.Opened")),
    ).fetchone()
    return row is not None


def _copy_log(conn: psycopg.Connection[Any], position: int, partner_id: UUID | None) -> int:
    """The events the read models and the rules read, up to `position`, at SPACING times
    their position; one partner's only (its own events and those naming it) if asked."""
    topics = sorted({t for model in MODELS for t in model.topics()} | set(map(_topic, READS)))
    partner = (
        sql.SQL(
            " AND (originator_id = %(partner)s OR ll_uuid(event -> 'partner_id') = %(partner)s)"
        )
        if partner_id is not None
        else sql.SQL("")
    )
    copied = conn.execute(
        sql.SQL(
            "INSERT INTO whatif_events SELECT notification_id * %(spacing)s, originator_id, "
            "originator_version, topic, event FROM {} WHERE notification_id <= %(position)s "
            "AND topic = ANY(%(topics)s){}"
        ).format(sql.Identifier(store.EVENTS_TABLE), partner),
        {"spacing": SPACING, "position": position, "topics": topics, "partner": partner_id},
    )
    return copied.rowcount


def _events(conn: psycopg.Connection[Any]) -> list[LoggedEvent]:
    short = {_topic(name): name for name in READS}
    rows = conn.execute(
        "SELECT position, originator_id, version, topic, event FROM whatif_events "
        "WHERE topic = ANY(%s) ORDER BY position",
        (sorted(short),),
    ).fetchall()
    return [LoggedEvent(int(p), UUID(str(o)), int(v), short[str(t)], e) for p, o, v, t, e in rows]


def _policy_changes(conn: psycopg.Connection[Any], position: int) -> list[PolicyChange]:
    """The policy's recorded versions, from the whole log (they are vendor-wide)."""
    rows = conn.execute(
        sql.SQL(
            "SELECT event FROM {} WHERE topic = %s AND notification_id <= %s "
            "ORDER BY notification_id"
        ).format(sql.Identifier(store.EVENTS_TABLE)),
        (_topic("PolicyHistory.ChangeScheduled"), position),
    ).fetchall()
    changes = []
    for (event,) in rows:
        values = event["changes"]
        values = values.get("_data_", values) if isinstance(values, dict) else values
        changes.append(
            PolicyChange(
                int(event["version"]),
                day_of(event["effective_from"]),
                {str(k): str(v) for k, v in values.items()},
            )
        )
    return changes


def _line_facts(conn: psycopg.Connection[Any], position: int) -> dict[UUID, list[LineFact]]:
    """Each line's term and billing day from the (scratch) positions they were set at: its
    creation, its activation and each transfer (R-E1), from the whole log (a line may have
    come from another partner)."""
    kinds = (
        "SubscriptionLine.Created",
        "SubscriptionLine.Activated",
        "SubscriptionLine.Transferred",
    )
    rows = conn.execute(
        sql.SQL(
            "SELECT notification_id * %s, originator_id, event -> 'term', event -> 'anchor_day' "
            "FROM {} WHERE topic = ANY(%s) AND notification_id <= %s ORDER BY notification_id"
        ).format(sql.Identifier(store.EVENTS_TABLE)),
        (SPACING, [_topic(kind) for kind in kinds], position),
    ).fetchall()
    facts: dict[UUID, list[LineFact]] = {}
    for at, line_id, term, anchor_day in rows:
        facts.setdefault(UUID(str(line_id)), []).append(
            LineFact(
                int(at),
                Term(text_of(term)) if term is not None else None,
                int(anchor_day) if isinstance(anchor_day, int) else None,
            )
        )
    return facts


def _check_prices(conn: psycopg.Connection[Any], wanted: Proposal) -> None:
    """A proposed price names a product the catalogue prices in that currency."""
    for code, currency in wanted.prices:
        row = conn.execute(
            sql.SQL(
                "SELECT 1 FROM {} WHERE topic = %s AND event -> 'price' -> '_data_' "
                "->> 'product_code' = %s AND event -> 'price' -> '_data_' ->> 'currency' = %s "
                "LIMIT 1"
            ).format(sql.Identifier(store.EVENTS_TABLE)),
            (_topic("CatalogueProduct.PriceAdded"), code, currency),
        ).fetchone()
        if row is None:
            raise UnknownProduct(
                f"No product {code!r} in {currency} in the catalogue.",
                product=code,
                currency=currency,
            )


def _write_back(conn: psycopg.Connection[Any], redecided: Redecided) -> None:
    """The re-decided events into the scratch log (temporary: allowed in a read-only
    transaction)."""
    with conn.cursor() as cursor:
        if redecided.updated:
            cursor.executemany(
                "UPDATE whatif_events SET event = %s WHERE position = %s",
                [(Jsonb(event), position) for position, event in redecided.updated.items()],
            )
        if redecided.deleted:
            cursor.execute(
                "DELETE FROM whatif_events WHERE position = ANY(%s)", (sorted(redecided.deleted),)
            )
        if redecided.inserted:
            cursor.executemany(
                "INSERT INTO whatif_events VALUES (%s, %s, %s, %s, %s)",
                [
                    (e.position, e.originator_id, e.version, _topic(e.kind), Jsonb(e.event))
                    for e in redecided.inserted
                ],
            )


def _apply(conn: psycopg.Connection[Any], model: Projection, position: int) -> None:
    """One read model's statements over the scratch log up to the live one's position."""
    conn.execute("DELETE FROM batch_events")
    cut = position * SPACING + AFTER  # a cashback the proposal adds follows its payment
    conn.execute(
        "INSERT INTO batch_events (position, originator_id, version, topic, event, recorded_at) "
        "SELECT position, originator_id, version, topic, event, ll_instant(event -> 'timestamp') "
        "FROM whatif_events WHERE position <= %s",
        (cut,),
    )
    for statement in model.statements:
        conn.execute(model.render(statement, 0, schema=SCRATCH), {"lo": 0, "hi": cut})
