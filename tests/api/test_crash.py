"""Crash after commit, before answer (R-X5): an API process killed with SIGKILL once a
command's events are committed but before its answer reaches the client; the client retries
with the same Idempotency-Key against a new process. Exactly one effect is in the log, and the
retry answers what the original would have: the very status and body the dead process held
back, or (killed before it had an answer) the position its commit wrote, marked as a replay.

A partner's story runs over HTTP through a chain of processes (tests/api/crash_server.py),
each killed at a seeded command and stage; the next answers the retry and goes on with the
story. The story reaches the payment gateway (a card added, a card top-up), pays from the
balance and refunds, so the replays checked include those the ledger answers before the writer.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import httpx
import pytest

from api import keys
from api.metrics import REPLAYED_HEADER
from ledger.application import EVENTS_TABLE
from ledger.database import Database
from tests.api.crash_server import CrashServer, KillPoint, Stage, Unsent
from tests.ledger.payments_support import VISA
from tests.support import NOT_CATALOGUE, NOT_CATALOGUE_IMPORT, SOAK

Json = dict[str, Any]
Answers = dict[str, Json]
KILLS_PER_STORY = 3
"""Each story dies three times: four processes, about 0.2 s of CPU each (measured)."""
SEEDS = range(1, 41) if SOAK else (1, 2)
"""LEDGERLINE_SOAK=1 runs forty stories (120 kills, every command and stage many times)."""


def usd(amount_minor: int) -> Json:
    return {"amount_minor": amount_minor, "currency": "USD"}


@dataclass(frozen=True)
class Step:
    """One command of the story: its Idempotency-Key, and its path and body, made from the
    answers of the commands before it."""

    key: str
    request: Callable[[Answers], tuple[str, Json | None]]


def _partner(a: Answers) -> str:
    return str(a["open"]["id"])


STORY = (
    Step(
        "open", lambda a: ("/v1/partners", {"name": "Acme", "currency": "USD", "time_zone": "UTC"})
    ),
    Step(
        "profile",
        lambda a: (
            f"/v1/partners/{_partner(a)}/billing-profile",
            {
                "entity": "Acme LLC",
                "address": {
                    "lines": ["1 Main St"],
                    "city": "Ely",
                    "postal_code": "1",
                    "country": "US",
                },
                "billing_email": "billing@acme.example",
            },
        ),
    ),
    Step(
        "card",
        lambda a: (
            f"/v1/partners/{_partner(a)}/payment-methods",
            {"method": {"kind": "card", **asdict(VISA)}},
        ),
    ),
    Step(
        "top-up-card",
        lambda a: (f"/v1/partners/{_partner(a)}/top-ups", {"amount": usd(1_000), "source": "card"}),
    ),
    Step(
        "top-up-bank",
        lambda a: (
            f"/v1/partners/{_partner(a)}/top-ups",
            {"amount": usd(4_000), "source": "bank_transfer", "reference": "Wire 1"},
        ),
    ),
    Step(
        "client",
        lambda a: (
            f"/v1/partners/{_partner(a)}/clients",
            {"name": "Bistro", "unified_billing": False},
        ),
    ),
    Step(
        "line",
        lambda a: (
            "/v1/lines",
            {
                "partner_id": _partner(a),
                "client_id": a["client"]["id"],
                "product_code": "email-signatures",
            },
        ),
    ),
    Step("activate", lambda a: (f"/v1/lines/{a['line']['id']}/activate", None)),
    Step(
        "pay",
        lambda a: (
            f"/v1/invoices/{a['activate']['invoice_id']}/payments",
            {"source": "company_balance"},
        ),
    ),
    Step(
        "refund",
        lambda a: (
            f"/v1/invoices/{a['activate']['invoice_id']}/refunds",
            {"payment_id": a["pay"]["payment_id"], "amount": usd(500), "reason": "Goodwill"},
        ),
    ),
)


STORY_LOG = [
    "PartnerAccount.Opened",
    "PartnerAccount.BillingProfileRecorded",
    "PartnerAccount.PaymentMethodAdded",
    "PartnerAccount.BalanceToppedUp",
    "PartnerAccount.BalanceToppedUp",
    "PartnerAccount.ClientRegistered",
    "SubscriptionLine.Created",
    "SubscriptionLine.Activated",
    "SubscriptionLine.Invoiced",
    "Invoice.Issued",
    "Invoice.PaymentReceived",
    "Invoice.Settled",
    "PartnerAccount.BalanceSpent",
    "SubscriptionLine.InvoiceSettled",
    "Invoice.PaymentRefunded",
    "PartnerAccount.BalanceRestored",
]
"""The log the story writes when nothing crashes: what every crashed story must write too."""


def head(database: Database) -> int:
    with database.connect() as conn:
        row = conn.execute(
            f"SELECT coalesce(max(notification_id), 0) FROM {EVENTS_TABLE}"
        ).fetchone()
    assert row is not None
    return int(row[0])


def post(url: str, admin: str, step: Step, answers: Answers) -> httpx.Response:
    path, body = step.request(answers)
    return httpx.post(
        f"{url}{path}",
        json=body,
        headers={"Authorization": f"Bearer {admin}", "Idempotency-Key": step.key},
        timeout=10.0,
    )


def kill_points(seed: int) -> dict[int, Stage]:
    """Which commands of the story the processes die at, and when: seeded."""
    rng = random.Random(seed)
    chosen = sorted(rng.sample(range(len(STORY)), KILLS_PER_STORY))
    return {index: rng.choice(list(Stage)) for index in chosen}


def start_until_next_kill(database: Database, kills: dict[int, Stage], first: int) -> CrashServer:
    """A new process that answers the story from command `first` on and dies at the first of
    the `kills` still to come (counted in the process's own POSTs, from 1)."""
    if not kills:
        return CrashServer.start(database.url)
    index = min(kills)
    return CrashServer.start(database.url, KillPoint(index - first + 1, kills.pop(index)))


@pytest.mark.parametrize("seed", SEEDS)
def test_r_x5_a_command_committed_by_a_process_killed_before_answering_is_answered_once_by_the_next(
    database: Database, seed: int
) -> None:
    """Four processes per story, under a second of CPU in all (the fork server's imports,
    about 1 s, paid once per pytest worker): a SIGKILL needs a process of its own."""
    with database.connect() as conn:
        admin = keys.create_key(conn, keys.Role.ADMIN, label="crash")[1]
    kills = kill_points(seed)
    to_come = dict(kills)
    answers: Answers = {}
    server = start_until_next_kill(database, to_come, 0)
    try:
        for index, step in enumerate(STORY):
            stage = kills.get(index)
            before = head(database)
            if stage is None:
                answered = post(server.url, admin, step, answers)
                assert answered.status_code in (200, 201), (step.key, answered.text)
                answers[step.key] = answered.json()
                continue
            with pytest.raises(httpx.TransportError):
                post(server.url, admin, step, answers)
            unsent = server.died()
            committed = head(database)
            assert committed > before, f"{step.key}: killed at {stage} but nothing committed"
            server = start_until_next_kill(database, to_come, index)
            retried = post(server.url, admin, step, answers)
            assert head(database) == committed, f"{step.key}: the retry wrote again"
            assert_answers_as_the_first(retried, unsent, committed, stage)
            answers[step.key] = retried.json()
    finally:
        server.stop()
    with database.connect() as conn:
        logged = conn.execute(
            f"SELECT key FROM command_log WHERE {NOT_CATALOGUE_IMPORT}"
        ).fetchall()
        topics = conn.execute(
            f"SELECT topic FROM {EVENTS_TABLE} WHERE {NOT_CATALOGUE} ORDER BY notification_id"
        )
        written = [topic.split(":")[1] for (topic,) in topics]
    # Stored in the API key's namespace: http/<key id>/<Idempotency-Key>.
    assert sorted(key.split("/", 2)[2] for (key,) in logged) == sorted(s.key for s in STORY)
    assert written == STORY_LOG, "each command's events once, in the story's order"
    assert answers["pay"]["outstanding"] == usd(0)
    assert answers["refund"]["outstanding"] == usd(0)  # a refund leaves the invoice settled


def assert_answers_as_the_first(
    retried: httpx.Response, unsent: Unsent | None, committed: int, stage: Stage
) -> None:
    assert retried.headers.get(REPLAYED_HEADER) == "true", retried.text
    assert retried.json()["position"] == committed
    if stage is Stage.ANSWERING:
        assert unsent is not None, "the process died without the answer it held back"
        assert (retried.status_code, retried.json()) == (unsent.status, json.loads(unsent.body))
    else:
        assert unsent is None
        assert retried.status_code == 201
