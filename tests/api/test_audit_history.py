"""`/v1/audit/partners`: a partner as it stood at a moment, and who did what (issue 14), over
real HTTP with a cipher key set (personal fields sealed at rest, opened for the auditor).

A small story: an admin key opens a partner and registers a client, another admin key tops it
up twice with a clock moving between, the ledger sells the client a line (an invoice). Each
test costs about a second (the runtime and its server are most of it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from api.runtime import Runtime
from ledger.clock import SimulatedClock
from ledger.database import Database
from ledger.sealing import Sealer
from ledger.settings import Environment, Settings
from ledger.store import EVENTS_TABLE

CIPHER_KEY = Sealer.create_key()
CLIENT_NAME = "Pomona Grijalva-Tessaro"
ROUTE = "/v1/audit/partners"


@pytest.fixture
def settings(database: Database) -> Settings:
    """The suite's settings, with a cipher key: the events hold personal fields sealed."""
    return Settings(
        database_url=database.url,
        environment=Environment.TEST,
        db_pool_size=4,
        cipher_key=CIPHER_KEY,  # type: ignore[arg-type]  # pydantic makes it a SecretStr
    )


@dataclass(frozen=True)
class Story:
    partner_id: UUID
    opener: str
    """The public id of the key that opened the partner."""
    payer: str
    """The public id of the key that topped it up."""
    first_top_up: int
    """The log position of the first top-up."""
    between: str
    """An instant after the first top-up and before the second."""


def _key_id(key: str) -> str:
    return key.split("_")[1]


@pytest.fixture
def story(
    runtime: Runtime,
    clock: SimulatedClock,
    client_for: Callable[[str | None], httpx.Client],
    make_key: Callable[..., str],
) -> Story:
    opener_key, payer_key = make_key("admin"), make_key("admin")
    opener, payer = client_for(opener_key), client_for(payer_key)
    created = opener.post(
        "/v1/partners", json={"name": "Grove", "currency": "USD", "time_zone": "Europe/Madrid"}
    )
    partner_id = UUID(created.json()["id"])
    client = opener.post(
        f"/v1/partners/{partner_id}/clients",
        json={"name": CLIENT_NAME, "email": "pomona@example.com", "unified_billing": False},
    )
    assert client.status_code == 201, client.text
    top_up = {"amount": {"amount_minor": 40_000, "currency": "USD"}, "source": "bank_transfer"}
    first = payer.post(f"/v1/partners/{partner_id}/top-ups", json=top_up)
    assert first.status_code == 201, first.text
    clock.advance(timedelta(hours=3))
    between = (clock.now() - timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    assert payer.post(f"/v1/partners/{partner_id}/top-ups", json=top_up).status_code == 201
    line = runtime.ledger.create_line(partner_id, UUID(client.json()["id"]), "email-signatures")
    assert line.aggregate_id is not None
    runtime.ledger.activate_line(line.aggregate_id)
    return Story(
        partner_id, _key_id(opener_key), _key_id(payer_key), first.json()["position"], between
    )


def _pages(http: httpx.Client, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = http.get(path, params={**params, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return items


def test_an_auditor_reads_a_partner_as_it_stood_by_position_instant_and_business_date(
    story: Story,
    runtime: Runtime,
    client_for: Callable[[str | None], httpx.Client],
    make_key: Callable[..., str],
) -> None:
    auditor = client_for(make_key("auditor"))
    path = f"{ROUTE}/{story.partner_id}"
    then = auditor.get(path, params={"position": story.first_top_up})
    known = auditor.get(path, params={"as_of": story.between})
    now = auditor.get(path, params={"as_of": "2100-01-01T00:00:00Z"})
    today = auditor.get(
        path, params={"business_date": runtime.ledger.clock.now().date().isoformat()}
    )
    assert [r.status_code for r in (then, known, now, today)] == [200] * 4, now.text
    assert then.json()["account"]["company_balance"]["amount_minor"] == 40_000
    assert then.json()["lines"] == []
    assert then.json()["invoices"] == []
    assert known.json()["account"] == then.json()["account"]
    assert known.json()["cut"]["kind"] == "as_of"
    body = now.json()
    assert body["account"]["company_balance"] == {"amount_minor": 80_000, "currency": "USD"}
    assert [c["name"] for c in body["clients"]] == [CLIENT_NAME], "the sealed name is opened"
    assert [line["status"] for line in body["lines"]] == ["active"]
    (invoice,) = body["invoices"]
    assert invoice["status"] == "open"
    assert invoice["outstanding"] == invoice["total"]
    assert body["balances"]["receivable"] == [
        {"payer_id": invoice["payer_id"], "owed": invoice["outstanding"]}
    ]
    assert today.json()["account"] == body["account"]
    with runtime.database.connect() as conn:
        clear = conn.execute(
            f"SELECT count(*) FROM {EVENTS_TABLE} WHERE convert_from(state, 'UTF8') LIKE %s",
            (f"%{CLIENT_NAME}%",),
        ).fetchone()
    assert clear == (0,), "the client's name is stored in clear"


def test_the_events_are_paged_with_who_caused_each_and_narrow_to_one_key(
    story: Story,
    client_for: Callable[[str | None], httpx.Client],
    make_key: Callable[..., str],
) -> None:
    admin = client_for(make_key("admin"))
    path = f"{ROUTE}/{story.partner_id}/events"
    every = _pages(admin, path, {"limit": 2})
    positions = [event["position"] for event in every]
    assert positions == sorted(positions)
    assert len(every) >= 6
    first = every[0]
    assert first["type"] == "PartnerAccount.Opened"
    assert first["cause"]["key_id"] == story.opener
    assert first["caused_by"].startswith(f"API key {story.opener} (admin), request ")
    assert all(event["sentence"].endswith(".") for event in every)
    assert "the ledger itself" in {event["caused_by"] for event in every}
    paid = _pages(admin, path, {"actor": story.payer})
    assert [event["type"] for event in paid] == ["PartnerAccount.BalanceToppedUp"] * 2
    early = _pages(admin, path, {"position": story.first_top_up})
    assert [event["position"] for event in early] == [
        p for p in positions if p <= story.first_top_up
    ]
    known = _pages(admin, path, {"as_of": story.between})
    assert known == early


WRONG_MOMENTS: list[tuple[dict[str, Any], int, str]] = [
    ({}, 422, "audit_cut_invalid"),
    ({"position": 1, "business_date": "2026-02-01"}, 422, "audit_cut_invalid"),
    ({"as_of": "yesterday"}, 422, "validation_failed"),
    ({"as_of": "2026-02-01T00:00:00"}, 422, "invalid_value"),
    ({"position": 10**9}, 422, "invalid_value"),
    ({"business_date": "2026-02-30"}, 422, "validation_failed"),
    ({"as_of": "2000-01-01T00:00:00Z"}, 404, "partner_then_not_found"),
]
"""Each moment named wrongly, and the problem it answers (one story for all: cheap)."""


def test_a_moment_named_wrongly_is_a_problem_with_a_stable_code(
    story: Story, http: httpx.Client
) -> None:
    for params, status, code in WRONG_MOMENTS:
        response = http.get(f"{ROUTE}/{story.partner_id}", params=params)
        assert (response.status_code, response.json()["code"]) == (status, code), params
        assert response.headers["content-type"] == "application/problem+json"
    events = http.get(f"{ROUTE}/{story.partner_id}/events", params={"position": 1, "as_of": "x"})
    assert events.status_code == 422


def test_only_auditor_and_admin_keys_audit_and_unknown_partners_are_not_found(
    story: Story,
    client_for: Callable[[str | None], httpx.Client],
    make_key: Callable[..., str],
) -> None:
    params = {"as_of": "2100-01-01T00:00:00Z"}
    for role, partner in (("partner", story.partner_id), ("finance", None)):
        refused = client_for(make_key(role, partner))
        for path in (f"{ROUTE}/{story.partner_id}", f"{ROUTE}/{story.partner_id}/events"):
            response = refused.get(path, params=params)
            assert (response.status_code, response.json()["code"]) == (403, "forbidden")
    auditor = client_for(make_key("auditor"))
    for path in (f"{ROUTE}/{uuid4()}", f"{ROUTE}/{uuid4()}/events", f"{ROUTE}/{UUID(int=0)}"):
        response = auditor.get(path, params=params)
        assert (response.status_code, response.json()["code"]) == (404, "partner_not_found")
