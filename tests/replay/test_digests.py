"""Signed digests of the audit chains, and the vendor's key (issue 14; replay/digests.py,
replay/proofs_keys.py; docs/audit.md "Signed digests").

One short random history per test (about half a second); signing and checking cost
microseconds.
"""

from __future__ import annotations

import base64
import stat
from pathlib import Path
from uuid import UUID

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.application import Ledger
from ledger.audit_chain import VENDOR_CHAIN
from ledger.clock import SimulatedClock
from ledger.database import Database
from ledger.store import EVENTS_TABLE
from replay.digests import ChainBroken, SignedDigest, canonical, head_position, signed_digest
from replay.proofs_keys import (
    KEY_FILE,
    SigningKeyUnusable,
    VerifyingKey,
    signing_key,
)
from replay.verify import verify
from tests.histories import make_history
from tests.replay.test_verify import middle, tamper


@pytest.fixture
def partners(ledger: Ledger, clock: SimulatedClock) -> list[UUID]:
    return make_history(ledger, clock, 5, steps=40).partners


def test_a_digest_signs_every_chains_verified_head_with_the_key_made_on_first_use(
    database: Database, partners: list[UUID], tmp_path: Path, clock: SimulatedClock
) -> None:
    key = signing_key(None, tmp_path)
    path = tmp_path / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600, "the private key is readable by others"
    assert signing_key(None, tmp_path).public.raw == key.public.raw, "a second key was made"
    with database.connect() as conn:
        signed = signed_digest(conn, key, clock.now())
        walked = verify(conn)
        head = head_position(conn)
    document = signed["digest"]
    assert (document["format"], document["version"], document["up_to_position"]) == (
        "ledgerline/digest",
        1,
        head,
    )
    assert {UUID(c["chain"]): (c["seq"], c["hash"]) for c in document["chains"]} == {
        chain: (h.seq, h.hash.hex()) for chain, h in walked.heads.items()
    }
    assert {UUID(c["chain"]) for c in document["chains"]} >= {*partners, VENDOR_CHAIN}
    parsed = SignedDigest.parse(signed)
    assert parsed.signed_by(VerifyingKey.parse(key.public.pem()))
    assert parsed.signed_by(VerifyingKey.parse(signed["public_key"]))
    assert signed["key_id"] == key.public.key_id
    assert len(signed["key_id"]) == 16
    # The canonical bytes are what is signed: a changed field no longer checks.
    document["up_to_position"] -= 1
    assert not SignedDigest.parse(signed).signed_by(key.public)
    other = VerifyingKey(Ed25519PrivateKey.generate().public_key())
    assert not parsed.signed_by(other)
    assert canonical({"b": 1, "a": "é"}) == b'{"a":"\\u00e9","b":1}'


def test_a_digest_at_an_earlier_position_holds_the_heads_as_they_were(
    database: Database, partners: list[UUID], tmp_path: Path, clock: SimulatedClock
) -> None:
    key = signing_key(None, tmp_path)
    with database.connect() as conn:
        half = head_position(conn) // 2
        signed = signed_digest(conn, key, clock.now(), up_to=half)
        walked = verify(conn, up_to=half)
    chains = signed["digest"]["chains"]
    assert all(c["position"] <= half for c in chains)
    assert {UUID(c["chain"]): c["seq"] for c in chains} == {
        chain: h.seq for chain, h in walked.heads.items()
    }


def test_a_broken_chain_is_not_signed_and_the_refusal_names_the_row(
    database: Database, partners: list[UUID], tmp_path: Path, clock: SimulatedClock
) -> None:
    position, _ = middle(database, partners[0])
    tamper(
        database,
        f"UPDATE {EVENTS_TABLE} SET originator_version = originator_version + 100 "
        "WHERE notification_id = %s",
        position,
    )
    with database.connect() as conn, pytest.raises(ChainBroken) as refused:
        signed_digest(conn, signing_key(None, tmp_path), clock.now())
    assert refused.value.code == "audit_chain_broken"
    assert refused.value.fields["position"] == position
    assert refused.value.fields["partner_id"] == partners[0]


def test_a_configured_key_is_used_and_an_unusable_one_is_refused_by_name(tmp_path: Path) -> None:
    private = Ed25519PrivateKey.generate()
    configured = tmp_path / "vendor.pem"
    configured.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    raw = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    assert signing_key(configured, tmp_path).public.raw_base64 == base64.b64encode(raw).decode()
    assert not (tmp_path / KEY_FILE).exists(), "a key was made beside the configured one"
    configured.write_text("not a key")
    with pytest.raises(SigningKeyUnusable, match=r"vendor\.pem"):
        signing_key(configured, tmp_path)
    with pytest.raises(SigningKeyUnusable, match="cannot be read"):
        signing_key(tmp_path / "absent.pem", tmp_path)
