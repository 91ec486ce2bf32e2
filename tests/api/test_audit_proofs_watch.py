"""The periodic verify of a serving process: a tampered row in a running server's database is
logged loudly and flips /metrics at the next run, and /readyz stays about readiness (issue 14;
replay/proofs_watch.py, api/metrics.py).

The runs are triggered directly (`runtime.audit_watch.run()`), never waited for; one short
random history per test (about half a second).
"""

from __future__ import annotations

import logging
import re
import threading
from uuid import UUID

import httpx
import pytest

from api.runtime import Runtime
from domain.money import Money
from domain.payment_methods import PaymentSource
from ledger.clock import SimulatedClock
from ledger.store import EVENTS_TABLE
from replay.proofs_watch import ChainWatch
from replay.verify import verify
from tests.histories import make_history
from tests.replay.test_verify import middle, rows, tamper

ALTER_STATE = (
    f"UPDATE {EVENTS_TABLE} SET state = convert_to(replace(convert_from(state, 'UTF8'), "
    "'\"_data_\"', '\"_data_\" '), 'UTF8') WHERE notification_id = %s"
)


@pytest.fixture
def partners(runtime: Runtime, clock: SimulatedClock) -> list[UUID]:
    return make_history(runtime.ledger, clock, 5, steps=40).partners


@pytest.fixture
def watch(runtime: Runtime) -> ChainWatch:
    assert runtime.audit_watch is not None, "the periodic verify is on by default"
    return runtime.audit_watch


def metric(http: httpx.Client, name: str) -> float:
    text = http.get("/metrics").text
    found = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    assert found is not None, f"{name} is not in /metrics"
    return float(found.group(1))


def top_up(runtime: Runtime, partner: UUID, key: str) -> int:
    currency = runtime.ledger.partner_account(partner).currency
    return runtime.ledger.top_up(
        partner, Money(100, currency), PaymentSource.BANK_TRANSFER, reference=key, key=key
    ).position


def test_r_x6_a_tampered_row_flips_the_metric_and_is_logged_at_the_next_run_not_in_readyz(
    runtime: Runtime,
    partners: list[UUID],
    watch: ChainWatch,
    http: httpx.Client,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    first = watch.run()
    assert first.intact, first.summary()
    assert metric(http, "ledgerline_audit_chain_intact") == 1
    assert metric(http, "ledgerline_audit_verified_position") == first.up_to
    assert metric(http, "ledgerline_audit_chain_breaks_total") == 0

    # A row written after the last run, then altered: the next (incremental) run sees it.
    fresh = top_up(runtime, partners[0], "after-first-run")
    tamper(runtime.database, ALTER_STATE, fresh)
    second = watch.run()
    assert [(b.position, b.partner_id) for b in second.breaks] == [(fresh, partners[0])]
    assert second.events == first.events + 1, "the second run walked more than what was new"
    assert metric(http, "ledgerline_audit_chain_intact") == 0
    assert metric(http, "ledgerline_audit_verified_position") == fresh
    assert metric(http, "ledgerline_audit_chain_breaks_total") == 1
    logged = [r.getMessage() for r in caplog.records if "audit_chain_broken" in r.getMessage()]
    assert len(logged) == 1
    assert f"position={fresh}" in logged[0]
    assert str(partners[0]) in logged[0]
    assert [r.levelno for r in caplog.records if "audit_chain_broken" in r.getMessage()] == [
        logging.ERROR
    ]

    # A row verified long ago, altered: a whole walk names it (and the first break again is
    # not counted twice).
    old, _ = middle(runtime.database, partners[1])
    tamper(runtime.database, ALTER_STATE, old)
    third = watch.run(whole=True)
    assert {b.position for b in third.breaks} == {old, fresh}
    assert metric(http, "ledgerline_audit_chain_breaks_total") == 2
    assert http.get("/readyz").status_code == 200, "a broken chain made the server unready"


def test_the_last_links_of_a_chain_deleted_are_named_though_no_walk_sees_them(
    runtime: Runtime, partners: list[UUID], watch: ChainWatch, http: httpx.Client
) -> None:
    assert watch.run().intact
    with runtime.database.connect() as conn:
        links = rows(conn, f"chain = '{partners[0]}'")
    head_position = links[-1][0]
    tamper(
        runtime.database,
        f"DELETE FROM {EVENTS_TABLE} WHERE notification_id >= %s AND chain = %s",
        links[-2][0],
        partners[0],
    )
    with runtime.database.connect() as conn:
        assert verify(conn).intact, "a walk alone saw the deleted tail"
    found = watch.run()
    assert [(b.position, b.partner_id, b.kind.value) for b in found.breaks] == [
        (head_position, partners[0], "missing")
    ]
    assert metric(http, "ledgerline_audit_chain_intact") == 0


def test_the_periodic_verify_is_off_at_zero(runtime: Runtime) -> None:
    off = Runtime(
        runtime.settings.model_copy(update={"audit_verify_interval_s": 0}),
        runtime.database,
        runtime.ledger,
        runtime.read_pool,
        runtime.key_pool,
        [],
        None,
    )
    assert off.audit_watch is None
    off.start_audit_watch()
    assert "audit-verify" not in {thread.name for thread in threading.enumerate()}
