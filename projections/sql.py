"""SQL helpers that read Ledgerline's stored events, in PostgreSQL itself.

Events are stored as JSON in which every typed value is tagged:
`{"_type_": "money", "_data_": {"amount_minor": 1234, "currency": "USD"}}`. Read models are
computed in set-based SQL from those documents (parsed once per batch into `batch_events`),
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
) ON COMMIT DELETE ROWS
"""
"""The batch being applied, parsed once, visible only to the session applying it."""


def kind(topic: str) -> str:
    """The short name of an event topic: `domain.invoice:Invoice.Issued` -> `Invoice.Issued`."""
    return topic.rsplit(":", 1)[-1]
