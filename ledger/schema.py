"""The write side's own tables, beside the library's events and snapshots tables.

All of them are written in the same transaction as the events that cause them:

- `command_log`: every accepted command under its idempotency key, with its answer (R-X5).
- `number_series`: the last number issued per series: invoices, credit notes and closing
  documents are numbered without gaps (R-X3).
- `outbox`: e-mails to send because of what happened (R-H4, R-H6, R-O5), sent at least once.
- `schedule`, `line_index`, `open_invoices`: inline projections the ledger itself needs to find
  work: what the billing clock must do and when, which lines a partner has, which invoices are
  still open. Each row follows from the events (see ledger/inline.py). `test_clocks` and
  `test_clock_partners` likewise: the test clocks and the partners living on them.
"""

from __future__ import annotations

from typing import Any

import psycopg

from ledger.audit_chain import link_unchained
from ledger.sealing import Sealer, check_key
from ledger.store import EVENTS_TABLE

DDL = [
    """
    CREATE TABLE IF NOT EXISTS command_log (
        key text PRIMARY KEY,
        command text NOT NULL,
        fingerprint text NOT NULL,
        response jsonb NOT NULL,
        position bigint NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS number_series (
        series text PRIMARY KEY,
        last bigint NOT NULL CHECK (last >= 0)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS outbox (
        id bigserial PRIMARY KEY,
        dedup_key text NOT NULL UNIQUE,
        kind text NOT NULL,
        recipient text NOT NULL,
        subject text NOT NULL,
        body text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        attempts integer NOT NULL DEFAULT 0,
        sent_at timestamptz,
        last_error text
    )
    """,
    "CREATE INDEX IF NOT EXISTS outbox_unsent ON outbox (next_attempt_at) WHERE sent_at IS NULL",
    # Added after the first release: a database made before them gains them on its next start.
    # E-mails queued before have no partner, so no partner's list shows them.
    "ALTER TABLE outbox ADD COLUMN IF NOT EXISTS partner_id uuid",
    "ALTER TABLE outbox ADD COLUMN IF NOT EXISTS details jsonb NOT NULL DEFAULT '{}'::jsonb",
    "CREATE INDEX IF NOT EXISTS outbox_partner ON outbox (partner_id, id)",
    """
    CREATE TABLE IF NOT EXISTS schedule (
        kind text NOT NULL,
        subject_id uuid NOT NULL,
        due_on date NOT NULL,
        time_zone text NOT NULL,
        partner_id uuid NOT NULL,
        PRIMARY KEY (kind, subject_id)
    )
    """,
    "CREATE INDEX IF NOT EXISTS schedule_due ON schedule (due_on)",
    "CREATE INDEX IF NOT EXISTS schedule_subject ON schedule (subject_id)",
    """
    CREATE TABLE IF NOT EXISTS line_index (
        line_id uuid PRIMARY KEY,
        partner_id uuid NOT NULL,
        client_id uuid NOT NULL,
        unified_billing boolean NOT NULL,
        status text NOT NULL
    )
    """,
    "CREATE INDEX IF NOT EXISTS line_index_partner ON line_index (partner_id)",
    """
    CREATE TABLE IF NOT EXISTS open_invoices (
        invoice_id uuid PRIMARY KEY,
        partner_id uuid NOT NULL,
        payer_id uuid NOT NULL,
        line_ids uuid[] NOT NULL,
        due_on date NOT NULL,
        outstanding boolean NOT NULL DEFAULT false
    )
    """,
    "CREATE INDEX IF NOT EXISTS open_invoices_payer ON open_invoices (payer_id)",
    # Test clocks (issue 15; ledger/test_clock_index.py): the clocks, and which partner lives on
    # which, so that the billing clock's query keeps each partner to its own clock.
    """
    CREATE TABLE IF NOT EXISTS test_clocks (
        clock_id uuid PRIMARY KEY,
        name text NOT NULL,
        frozen_at timestamptz NOT NULL,
        status text NOT NULL,
        target timestamptz,
        created_at timestamptz NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS test_clock_partners (
        partner_id uuid PRIMARY KEY,
        clock_id uuid NOT NULL
    )
    """,
    "CREATE INDEX IF NOT EXISTS test_clock_partners_clock ON test_clock_partners (clock_id)",
]


EVENT_FUNCTION = """
CREATE OR REPLACE FUNCTION ll_event(state bytea) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT convert_from(state, 'UTF8')::jsonb $$
"""
"""An event's stored JSON as `jsonb` (the mapper writes UTF-8 JSON, uncompressed; with a cipher
key only personal fields are sealed, inside the JSON: ledger/sealing.py)."""

EVENT_COLUMN = f"""
ALTER TABLE {EVENTS_TABLE}
ADD COLUMN event jsonb GENERATED ALWAYS AS (ll_event(state)) STORED
"""
"""Every event parsed once, when it is written, for the read side: read models are computed
in SQL from it, and parsing JSON is most of what a rebuild would otherwise spend its time on
(docs/performance.md)."""


CHAIN_COLUMNS = f"""
ALTER TABLE {EVENTS_TABLE}
ADD COLUMN chain uuid,
ADD COLUMN chain_seq bigint,
ADD COLUMN recorded_at timestamptz,
ADD COLUMN cause jsonb,
ADD COLUMN hash bytea
"""
"""The audit trail of each event (ledger/audit_chain.py): its chain and link, when it was
recorded, what caused it, its hash. Nullable: a row anything else inserts has none, and is
reported by the verification as outside every chain."""
CHAIN_INDEX = (
    f"CREATE UNIQUE INDEX IF NOT EXISTS {EVENTS_TABLE}_chain ON {EVENTS_TABLE} (chain, chain_seq)"
)
"""A chain's head in one index probe, a partner's events in order, and never two links with
one number (a fork)."""


def create_tables(conn: psycopg.Connection[Any], sealer: Sealer | None = None) -> None:
    """Create the write side's tables if they do not exist (idempotent, safe to race), and
    refuse a cipher key that is not the ledger's, or none when personal fields are sealed."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('ledgerline/schema'))")
        for statement in DDL:
            conn.execute(statement)
        check_key(conn, sealer)
        conn.execute(EVENT_FUNCTION)
        table = conn.execute("SELECT to_regclass(%s)", (EVENTS_TABLE,)).fetchone()
        if table is None or table[0] is None:
            return  # the library creates the events table; the column follows on next start
        if not _has_column(conn, "event"):
            conn.execute(EVENT_COLUMN)
        if not _has_column(conn, "hash"):
            # Added after the first release: a store made before it has its events linked into
            # their chains once, now, in log order (their causes unknown); every row that is
            # unchained after this was put there by something other than the ledger.
            conn.execute(CHAIN_COLUMNS)
            conn.execute(CHAIN_INDEX)
            link_unchained(conn)


def _has_column(conn: psycopg.Connection[Any], name: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM pg_attribute WHERE attrelid = %s::regclass AND attname = %s "
        "AND NOT attisdropped",
        (EVENTS_TABLE, name),
    ).fetchone()
    return row is not None
