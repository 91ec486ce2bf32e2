"""`ledgerline demo` as its own command (issue 15): on a database that holds only the catalogue
it loads the story and prints working keys and the three URLs, as one JSON document with
`--json`. tests/api/test_demo.py covers what the story holds, through `make run`'s first start,
and that a second load writes nothing; this is the command a user runs to get keys again.
About three seconds: a `ledgerline` process loads the whole demo."""

from __future__ import annotations

import json
import subprocess
from uuid import UUID

from api import keys
from ledger.application import EVENTS_TABLE
from ledger.database import Database
from tests.api.test_cli import LEDGERLINE, START_TIMEOUT_S, cli_env

INTEGRATOR_PLUS = UUID("3fb26acb-fdc6-57fe-8f19-e6fff962fad8")
"""The demo's RUB partner, whose key it prints: the same id in every database."""


def test_the_demo_command_loads_the_story_and_prints_keys_that_work(database: Database) -> None:
    with database.connect() as conn:
        before = conn.execute(f"SELECT count(*) FROM {EVENTS_TABLE}").fetchone()
    result = subprocess.run(
        [LEDGERLINE, "demo", "--json"],
        env=cli_env(
            DATABASE_URL=database.url, LEDGERLINE_ENVIRONMENT="test", LEDGERLINE_LOG_FORMAT="json"
        ),
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT_S,
        stdin=subprocess.DEVNULL,
    )

    assert result.returncode == 0, result.stderr
    made = json.loads(result.stdout)
    assert UUID(made["partner_id"]) == INTEGRATOR_PLUS
    assert set(made["urls"]) == {"banner", "invoices", "balance"}
    assert made["urls"]["balance"].endswith(f"/v1/partners/{INTEGRATOR_PLUS}/balance")
    with database.connect() as conn:
        after = conn.execute(f"SELECT count(*) FROM {EVENTS_TABLE}").fetchone()
        admin = keys.authenticate(conn, made["admin_key"])
        partner = keys.authenticate(conn, made["partner_key"])
    assert before is not None
    assert after is not None
    assert after[0] - before[0] > 400, "the story's months of history were not written"
    assert admin is not None
    assert admin.role is keys.Role.ADMIN
    assert partner is not None
    assert (partner.role, partner.partner_id) == (keys.Role.PARTNER, INTEGRATOR_PLUS)
