"""SQL helpers that read Ledgerline's stored events, in PostgreSQL itself.

Events are stored as JSON in which every typed value is tagged:
`{"_type_": "money", "_data_": {"amount_minor": 1234, "currency": "USD"}}`. Read models are
computed in set-based SQL from those documents (parsed once, when written, into the events
table's `event` column; see ledger/schema.py), staged per batch in `batch_events`,
so a rebuild runs at the speed of PostgreSQL rather than of Python. These functions unwrap
the tags; they are IMMUTABLE so PostgreSQL can inline them.
"""

from __future__ import annotations

FUNCTIONS = [
    """
    CREATE OR REPLACE FUNCTION ll_uuid(value jsonb) RETURNS uuid
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT (value ->> '_data_')::uuid $$
    """,
    """
    CREATE OR REPLACE FUNCTION ll_date(value jsonb) RETURNS date
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT (value ->> '_data_')::date $$
    """,
    """
    CREATE OR REPLACE FUNCTION ll_instant(value jsonb) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT (value ->> '_data_')::timestamptz $$
    """,
    """
    CREATE OR REPLACE FUNCTION ll_text(value jsonb) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT value ->> '_data_' $$
    """,
    # A personal field (ledger/sealing.py): its text in clear, or with a cipher key its sealed
    # envelope (`enc:v1:…`), which the read model keeps as it is and the edge opens.
    """
    CREATE OR REPLACE FUNCTION ll_personal(value jsonb) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
    $$ SELECT CASE jsonb_typeof(value) WHEN 'object' THEN value ->> '_data_'
                                       ELSE value #>> '{}' END $$
    """,
    """
    CREATE OR REPLACE FUNCTION ll_minor(value jsonb) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
    $$ SELECT (value -> '_data_' ->> 'amount_minor')::bigint $$
    """,
    """
    CREATE OR REPLACE FUNCTION ll_currency(value jsonb) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT value -> '_data_' ->> 'currency' $$
    """,
    """
    CREATE OR REPLACE FUNCTION ll_fields(value jsonb) RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT value -> '_data_' $$
    """,
    """
    CREATE OR REPLACE FUNCTION ll_items(value jsonb) RETURNS SETOF jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
    $$ SELECT jsonb_array_elements(coalesce(value -> '_data_', '[]'::jsonb)) $$
    """,
]
"""Helpers every read model may use: `ll_minor(event -> 'amount')`, `ll_uuid(event -> 'x')`."""

STAGE_DDL = """
CREATE TEMP TABLE IF NOT EXISTS batch_events (
    position bigint PRIMARY KEY,
    originator_id uuid NOT NULL,
    version bigint NOT NULL,
    topic text NOT NULL,
    event jsonb,
    recorded_at timestamptz
) WITH (toast_tuple_target = 8160) ON COMMIT DELETE ROWS;
CREATE INDEX IF NOT EXISTS batch_events_topic ON batch_events (topic)
"""
"""The batch being applied, visible only to the session applying it. Events are kept inline and
uncompressed (`toast_tuple_target`): a compressed document would be decompressed again for
every field a statement reads."""

SESSION_SETTINGS = (
    # Before the session's first temporary table: a batch's events stay in memory.
    "SET temp_buffers = '256MB'",
    # Read-model rows and their position commit together, so a crash can lose only whole
    # batches, which are applied again: exactly once holds without waiting for the disk.
    "SET synchronous_commit = off",
    # A batch of tens of thousands of events sorts and hashes in memory, not on disk.
    "SET work_mem = '256MB'",
)


def kind(topic: str) -> str:
    """The short name of an event topic: `domain.invoice:Invoice.Issued` -> `Invoice.Issued`."""
    return topic.rsplit(":", 1)[-1]
