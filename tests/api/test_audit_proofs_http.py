"""`GET /v1/audit/verify` and `GET /v1/audit/digest` over real HTTP (issue 14;
api/routers/audit_proofs.py).

One short random history per test (about half a second) written through the runtime's
ledger; then the stored log is changed four ways at once, as someone at a SQL prompt could,
and the auditor's answer must name each row by its position. The walk itself is
tests/replay/test_verify.py's; this proves the edge: who may ask, and what it answers.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from uuid import UUID

import httpx
import pytest

from api.runtime import Runtime
from ledger.clock import SimulatedClock
from ledger.database import Database
from ledger.settings import Environment, Settings
from ledger.store import EVENTS_TABLE
from replay.digests import SignedDigest
from replay.proofs_keys import VerifyingKey
from tests.histories import make_history
from tests.replay.test_verify import rows, tamper

Tampered = set[tuple[int, str]]
"""The breaks a walk must report: (log position, kind); for the swapped pair, whose kind
depends on the rows between them (`altered`, or `missing` then `out_of_order`), "moved"."""


def tamper_four_ways(database: Database, partners: list[UUID]) -> Tampered:
    """An UPDATE of one row, a DELETE of another, a swapped pair and a row inserted out of
    band, in the two longest chains, far enough apart not to hide one another."""
    with database.connect() as conn:
        links = {p: rows(conn, f"chain = '{p}'") for p in partners}
        head = conn.execute(f"SELECT max(notification_id) FROM {EVENTS_TABLE}").fetchone()
    one, two = sorted(partners, key=lambda p: len(links[p]), reverse=True)[:2]
    assert len(links[two]) >= 6, "the history is too short to tamper with four ways"
    updated = links[one][1][0]
    deleted, after_deleted = links[two][1][0], links[two][2][0]
    swapped = (links[one][-1][0], links[two][-1][0])
    tamper(
        database,
        f"UPDATE {EVENTS_TABLE} SET state = convert_to(replace(convert_from(state, 'UTF8'), "
        "'\"_data_\"', '\"_data_\" '), 'UTF8') WHERE notification_id = %s",
        updated,
    )
    tamper(database, f"DELETE FROM {EVENTS_TABLE} WHERE notification_id = %s", deleted)
    for old, new in ((swapped[0], -1), (swapped[1], swapped[0]), (-1, swapped[1])):
        tamper(
            database,
            f"UPDATE {EVENTS_TABLE} SET notification_id = %s WHERE notification_id = %s",
            new,
            old,
        )
    assert head is not None
    tamper(
        database,
        f"INSERT INTO {EVENTS_TABLE} (notification_id, originator_id, originator_version, "
        "topic, state) VALUES (%s, %s, 1, 'domain.partner_account:PartnerAccount.Opened', "
        "'{}')",
        head[0] + 1,
        UUID(int=7),
    )
    return {
        (updated, "altered"),
        (after_deleted, "missing"),
        (min(swapped), "moved"),
        (head[0] + 1, "unchained"),
    }


@pytest.fixture
def settings(database: Database, tmp_path: Path) -> Settings:
    """The suite's settings, with a home of the test's own: the signing key is made there."""
    return Settings(
        database_url=database.url, environment=Environment.TEST, db_pool_size=4, home=tmp_path
    )


@pytest.fixture
def partners(runtime: Runtime, clock: SimulatedClock) -> list[UUID]:
    return make_history(runtime.ledger, clock, 5, steps=40).partners


def test_r_x6_an_auditor_is_told_each_tampered_row_by_position_and_a_partner_key_is_refused(
    runtime: Runtime,
    partners: list[UUID],
    client_for: Callable[[str | None], httpx.Client],
    make_key: Callable[..., str],
) -> None:
    auditor = client_for(make_key("auditor"))
    before = auditor.get("/v1/audit/verify")
    assert before.status_code == 200, before.text
    assert before.json()["intact"] is True
    assert before.json()["events"] == before.json()["up_to_position"] > 40

    expected = tamper_four_ways(runtime.database, partners)

    after = auditor.get("/v1/audit/verify")
    assert after.status_code == 200, after.text
    found = after.json()
    assert found["intact"] is False
    reported = {(each["position"], each["kind"]) for each in found["breaks"]}
    moved = {(position, "moved") for position, _ in reported}
    assert expected <= reported | moved, reported
    assert found["first_break"] == found["breaks"][0]
    assert found["break_count"] == len(found["breaks"])
    [inserted] = [each for each in found["breaks"] if each["kind"] == "unchained"]
    assert inserted["chain"] is None
    [updated] = [pos for pos, kind in expected if kind == "altered"]
    [named] = [each for each in found["breaks"] if each["position"] == updated]
    assert UUID(named["partner_id"]) in partners

    partner = client_for(make_key("partner", partners[0]))
    finance = client_for(make_key("finance"))
    for refused in (partner, finance):
        answer = refused.get("/v1/audit/verify")
        assert answer.status_code == 403
        assert answer.json()["code"] == "forbidden"
        assert refused.get("/v1/audit/digest").status_code == 403
    assert client_for(None).get("/v1/audit/verify").status_code == 401
    broken_digest = auditor.get("/v1/audit/digest")
    assert broken_digest.status_code == 409
    assert broken_digest.json()["code"] == "audit_chain_broken"
    assert broken_digest.json()["position"] == min(pos for pos, _ in expected)


def test_one_partners_chain_is_walked_alone_and_an_unknown_partner_is_not_found(
    runtime: Runtime, partners: list[UUID], http: httpx.Client
) -> None:
    alone = http.get("/v1/audit/verify", params={"partner_id": str(partners[0])})
    assert alone.status_code == 200, alone.text
    with runtime.database.connect() as conn:
        count = len(rows(conn, f"chain = '{partners[0]}'"))
    assert (alone.json()["events"], alone.json()["chains"]) == (count, 1)
    unknown = http.get("/v1/audit/verify", params={"partner_id": str(UUID(int=3))})
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "partner_not_found"
    malformed = http.get("/v1/audit/verify", params={"partner_id": "nope"})
    assert malformed.status_code == 422


def test_a_digest_is_signed_by_the_vendors_key_at_the_position_asked(
    runtime: Runtime,
    partners: list[UUID],
    client_for: Callable[[str | None], httpx.Client],
    make_key: Callable[..., str],
) -> None:
    auditor = client_for(make_key("auditor"))
    answer = auditor.get("/v1/audit/digest", params={"position": 10})
    assert answer.status_code == 200, answer.text
    signed = answer.json()
    assert signed["digest"]["up_to_position"] == 10
    assert all(head["position"] <= 10 for head in signed["digest"]["chains"])
    assert SignedDigest.parse(signed).signed_by(VerifyingKey.parse(signed["public_key"]))
    again = auditor.get("/v1/audit/digest").json()
    assert again["key_id"] == signed["key_id"], "the key changed between two digests"
    assert (runtime.settings.home / "audit-signing-key.pem").exists()
    head = again["digest"]["up_to_position"]
    past = auditor.get("/v1/audit/digest", params={"position": head + 1})
    assert past.status_code == 422
    assert past.json()["code"] == "position_not_in_log"
