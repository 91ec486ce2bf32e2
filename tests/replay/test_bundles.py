"""A partner's chain exported as a bundle, and checked offline with nothing but the vendor's
public key (issue 14; replay/bundles.py; docs/audit.md "Bundles").

One short random history per test (about half a second); the checks themselves are pure and
take milliseconds. Each tampering is done the way someone holding the file (or the database,
knowing the format) could, and the check must say what failed.
"""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from domain.errors import PartnerNotFound
from domain.money import Money
from domain.payment_methods import PaymentSource
from ledger.application import Ledger
from ledger.audit_chain import event_hash
from ledger.clock import SimulatedClock
from ledger.database import Database
from ledger.store import EVENTS_TABLE
from replay.bundles import export_bundle
from replay.digests import ChainBroken, MalformedProof, signed_digest
from replay.proofs_check import check_bundle
from replay.proofs_keys import SigningKey, VerifyingKey, signing_key
from replay.verify import verify
from tests.histories import make_history
from tests.replay.test_verify import middle, tamper


@pytest.fixture
def partner(ledger: Ledger, clock: SimulatedClock) -> UUID:
    return make_history(ledger, clock, 5, steps=40).partners[0]


@pytest.fixture
def key(tmp_path: Path) -> SigningKey:
    return signing_key(None, tmp_path)


def export(database: Database, partner: UUID, key: SigningKey, clock: SimulatedClock) -> Any:
    """A bundle as an auditor receives it: through a JSON file's text."""
    with database.connect() as conn:
        return json.loads(json.dumps(export_bundle(conn, partner, key, clock.now())))


def codes(bundle: Any, key: SigningKey, earlier: Any = None) -> list[tuple[str, int | None]]:
    found = check_bundle(bundle, key.public, earlier)
    return [(each.code, each.position) for each in found.findings]


def top_ups(ledger: Ledger, partner: UUID, count: int) -> None:
    currency = ledger.partner_account(partner).currency
    for n in range(count):
        ledger.top_up(
            partner,
            Money(100 + n, currency),
            PaymentSource.BANK_TRANSFER,
            reference=f"later-{n}",
            key=f"later/{n}",
        )


def test_an_exported_bundle_checks_valid_offline(
    database: Database, partner: UUID, key: SigningKey, clock: SimulatedClock
) -> None:
    bundle = export(database, partner, key, clock)
    checked = check_bundle(bundle, VerifyingKey.parse(key.public.pem()))
    with database.connect() as conn:
        walked = verify(conn, partner_id=partner)
    assert checked.valid, checked.as_json()
    assert bundle["format"] == "ledgerline/bundle"
    assert bundle["partner_id"] == str(partner)
    assert checked.events == len(bundle["events"]) == walked.events > 3
    assert checked.head is not None
    assert (checked.head.seq, checked.head.hash) == (
        walked.heads[partner].seq,
        walked.heads[partner].hash,
    )
    assert [e["chain_seq"] for e in bundle["events"]] == list(range(1, checked.events + 1))
    assert bundle["digest"]["digest"]["chains"] == [checked.head.as_json()]


def test_a_tampered_bundle_fails_naming_what_failed(
    database: Database, partner: UUID, key: SigningKey, clock: SimulatedClock
) -> None:
    bundle = export(database, partner, key, clock)
    events = bundle["events"]
    third, fourth = events[2], events[3]

    changed = copy.deepcopy(bundle)
    state = base64.b64decode(changed["events"][2]["state"]).replace(b'"', b"'", 1)
    changed["events"][2]["state"] = base64.b64encode(state).decode()
    assert codes(changed, key) == [("altered", third["position"])]

    removed = copy.deepcopy(bundle)
    del removed["events"][2]
    assert codes(removed, key) == [("missing", fourth["position"])]

    last_removed = copy.deepcopy(bundle)
    del last_removed["events"][-1]
    assert codes(last_removed, key) == [("head_mismatch", events[-2]["position"])]

    moved_head = copy.deepcopy(bundle)
    moved_head["digest"]["digest"]["chains"][0]["hash"] = "00" * 32
    assert [code for code, _ in codes(moved_head, key)] == ["bad_signature", "head_mismatch"]

    foreign = copy.deepcopy(bundle)
    foreign["partner_id"] = str(UUID(int=partner.int ^ 1))
    assert {code for code, _ in codes(foreign, key)} == {"altered", "head_mismatch"}


def test_a_bundle_signed_by_another_key_fails(
    database: Database, partner: UUID, key: SigningKey, clock: SimulatedClock, tmp_path: Path
) -> None:
    other = signing_key(None, tmp_path / "other")
    bundle = export(database, partner, other, clock)
    found = check_bundle(bundle, key.public)
    assert [each.code for each in found.findings] == ["bad_signature"]
    assert other.public.key_id in found.findings[0].message
    assert check_bundle(bundle, other.public).valid


def test_an_earlier_digest_proves_the_later_bundle_extends_it(
    ledger: Ledger, database: Database, partner: UUID, key: SigningKey, clock: SimulatedClock
) -> None:
    with database.connect() as conn:
        kept = json.loads(json.dumps(signed_digest(conn, key, clock.now())))
    earlier_bundle = export(database, partner, key, clock)
    top_ups(ledger, partner, 3)
    later = export(database, partner, key, clock)
    assert len(later["events"]) == len(earlier_bundle["events"]) + 3
    for earlier in (kept, earlier_bundle["digest"]):
        checked = check_bundle(later, key.public, earlier)
        assert checked.valid, checked.as_json()
        assert checked.earlier_up_to == earlier["digest"]["up_to_position"]
    forged = copy.deepcopy(kept)
    forged["digest"]["up_to_position"] += 1
    assert codes(later, key, forged) == [("earlier_bad_signature", None)]


def rewrite_chain_from(database: Database, partner: UUID, position: int) -> None:
    """Change one event's state and compute every later link of its chain again, as someone
    who knows the format and holds the database could: the walk finds the chain intact."""
    with database.connect(autocommit=True) as conn:
        rows = conn.execute(
            f"SELECT notification_id, chain_seq, originator_id, originator_version, topic, "
            f"state, recorded_at, cause, hash FROM {EVENTS_TABLE} WHERE chain = %s "
            "ORDER BY chain_seq",
            (partner,),
        ).fetchall()
        previous = bytes(32)
        for pos, seq, originator, version, topic, state, recorded, cause, stored in rows:
            if pos < position:
                previous = bytes(stored)
                continue
            if pos == position:
                state = bytes(state).replace(b'"_data_"', b'"_data_" ', 1)
            digest = event_hash(
                previous,
                position=pos,
                chain=partner,
                chain_seq=seq,
                originator_id=originator,
                originator_version=version,
                topic=topic,
                state=bytes(state),
                recorded_at=recorded,
                cause=cause,
            )
            conn.execute(
                f"UPDATE {EVENTS_TABLE} SET state = %s, hash = %s WHERE notification_id = %s",
                (bytes(state), digest, pos),
            )
            previous = digest


def test_r_x6_a_rewritten_history_is_refused_by_the_earlier_digest_though_the_walk_passes_it(
    ledger: Ledger, database: Database, partner: UUID, key: SigningKey, clock: SimulatedClock
) -> None:
    with database.connect() as conn:
        kept = signed_digest(conn, key, clock.now())
    top_ups(ledger, partner, 1)
    position, seq = middle(database, partner)
    rewrite_chain_from(database, partner, position)
    with database.connect() as conn:
        assert verify(conn).intact, "the rewrite was not consistent"
    rewritten = export(database, partner, key, clock)
    assert check_bundle(rewritten, key.public).valid, "alone, a re-signed chain checks"
    head = next(c for c in kept["digest"]["chains"] if c["chain"] == str(partner))
    found = check_bundle(rewritten, key.public, kept)
    assert [(each.code, each.position) for each in found.findings] == [
        ("history_rewritten", head["position"])
    ]
    assert f"link {head['seq']}" in found.findings[0].message
    assert seq <= head["seq"]


def test_r_x6_the_last_links_deleted_are_shown_by_the_earlier_digest(
    database: Database, partner: UUID, key: SigningKey, clock: SimulatedClock
) -> None:
    """No walk sees a chain's last rows deleted with nothing after them; a kept digest does."""
    with database.connect() as conn:
        kept = signed_digest(conn, key, clock.now())
    tamper(
        database,
        f"DELETE FROM {EVENTS_TABLE} WHERE chain = %s AND chain_seq > "
        f"(SELECT max(chain_seq) - 2 FROM {EVENTS_TABLE} WHERE chain = %s)",
        partner,
        partner,
    )
    with database.connect() as conn:
        assert verify(conn).intact
    shorter = export(database, partner, key, clock)
    assert check_bundle(shorter, key.public).valid
    assert [code for code, _ in codes(shorter, key, kept)] == ["history_rewritten"]


def test_a_broken_chain_is_not_exported_and_an_unknown_partner_is_not_found(
    database: Database, partner: UUID, key: SigningKey, clock: SimulatedClock
) -> None:
    position, _ = middle(database, partner)
    tamper(database, f"DELETE FROM {EVENTS_TABLE} WHERE notification_id = %s", position)
    with database.connect() as conn:
        with pytest.raises(ChainBroken, match="broken"):
            export_bundle(conn, partner, key, clock.now())
        with pytest.raises(PartnerNotFound):
            export_bundle(conn, UUID(int=42), key, clock.now())


MANGLED = {
    "format": lambda b: b.update(format="other"),
    "no events": lambda b: b.update(events=[]),
    "state": lambda b: b["events"][0].update(state="not base64!"),
    "hash": lambda b: b["events"][0].pop("hash"),
    "signature": lambda b: b["digest"].update(signature=None),
    "head": lambda b: b["digest"]["digest"]["chains"][0].update(hash="12"),
}


def test_what_is_not_a_bundle_is_refused_as_malformed(
    database: Database, partner: UUID, key: SigningKey, clock: SimulatedClock
) -> None:
    bundle = export(database, partner, key, clock)
    for mangle in MANGLED.values():  # the failing one is in the traceback
        mangled = copy.deepcopy(bundle)
        mangle(mangled)
        with pytest.raises(MalformedProof):
            check_bundle(mangled, key.public)
    assert check_bundle(bundle, key.public).valid


def independent_check(bundle: Any, public_pem: bytes) -> bool:
    """A checker written from docs/audit.md alone ("Your own checker"): the standard library
    and an Ed25519 implementation, none of Ledgerline's code."""
    import hashlib
    import struct
    from datetime import UTC, datetime

    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    def field(data: bytes) -> bytes:
        return struct.pack(">Q", len(data)) + data

    assert (bundle["format"], bundle["version"]) == ("ledgerline/bundle", 1)
    chain = UUID(bundle["partner_id"])
    previous, seq, position = bytes(32), 0, 0
    for event in bundle["events"]:
        assert event["chain_seq"] == seq + 1
        assert event["position"] > position
        recorded = event["recorded_at"]
        instant = (
            datetime.fromisoformat(recorded).astimezone(UTC).isoformat(timespec="microseconds")
            if recorded
            else ""
        )
        cause = event["cause"]
        hashed = hashlib.sha256(b"ledgerline/event-hash/v1\n" + previous)
        for part in (
            struct.pack(">Q", event["position"]),
            chain.bytes,
            struct.pack(">Q", event["chain_seq"]),
            UUID(event["originator_id"]).bytes,
            struct.pack(">Q", event["originator_version"]),
            event["topic"].encode(),
            base64.b64decode(event["state"]),
            instant.encode(),
            json.dumps(cause, sort_keys=True, separators=(",", ":")).encode() if cause else b"",
        ):
            hashed.update(field(part))
        if hashed.hexdigest() != event["hash"]:
            return False
        previous, seq, position = hashed.digest(), event["chain_seq"], event["position"]
    signed = bundle["digest"]
    [head] = [c for c in signed["digest"]["chains"] if c["chain"] == str(chain)]
    if (head["seq"], head["hash"], head["position"]) != (seq, previous.hex(), position):
        return False
    message = json.dumps(signed["digest"], sort_keys=True, separators=(",", ":")).encode()
    try:
        load_pem_public_key(public_pem).verify(  # type: ignore[union-attr]
            base64.b64decode(signed["signature"]), message
        )
    except InvalidSignature:
        return False
    return True


def test_a_checker_written_from_the_docs_alone_agrees_with_ours(
    database: Database, partner: UUID, key: SigningKey, clock: SimulatedClock
) -> None:
    bundle = export(database, partner, key, clock)
    pem = key.public.pem().encode()
    assert independent_check(bundle, pem)
    changed = copy.deepcopy(bundle)
    changed["events"][1]["topic"] += " "
    assert not independent_check(changed, pem)
    resigned = copy.deepcopy(bundle)
    resigned["digest"]["digest"]["made_at"] = "2030-01-01T00:00:00+00:00"
    assert not independent_check(resigned, pem)
