"""Signed digests of the audit chains: the heads of every chain at a log position, signed with
the vendor's Ed25519 key (issue 14; docs/audit.md, "Signed digests").

An auditor who keeps a digest can later prove that nothing before it changed: a chain that
passes through the kept head (same link number, same hash) holds the same events up to it,
since each hash covers every link before it. A walk alone cannot show the last links of a
chain removed, nor a chain rewritten whole by someone who knows the format; a kept digest can.

The signed bytes are the digest document in canonical JSON: sorted keys, no spaces, ASCII.
The vendor signs only heads it verified: a broken chain is refused (`ChainBroken`).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg

from domain.errors import BillingError
from ledger.store import EVENTS_TABLE
from replay.proofs_keys import ALGORITHM, SigningKey, VerifyingKey
from replay.verify import Break, verify

DIGEST_FORMAT = "ledgerline/digest"
DIGEST_VERSION = 1
HASH_BYTES = 32

HEADS = (
    f"SELECT DISTINCT ON (chain) chain, chain_seq, hash, notification_id FROM {EVENTS_TABLE} "  # noqa: S608
    "WHERE chain IS NOT NULL AND notification_id <= %s AND (%s::uuid IS NULL OR chain = %s) "
    "ORDER BY chain, chain_seq DESC"
)
HEAD_POSITION = f"SELECT coalesce(max(notification_id), 0) FROM {EVENTS_TABLE}"  # noqa: S608


class ChainBroken(BillingError):
    """The vendor signs only chains it verified: this one is broken (the first break is named)."""

    code = "audit_chain_broken"


class MalformedProof(ValueError):
    """A digest or bundle that is not one of ours: not JSON, or a field missing or ill-formed."""


@dataclass(frozen=True)
class ChainHead:
    """A chain's last link at a position: its number, hash and log position."""

    chain: UUID
    seq: int
    hash: bytes
    position: int

    def as_json(self) -> dict[str, Any]:
        return {
            "chain": str(self.chain),
            "seq": self.seq,
            "hash": self.hash.hex(),
            "position": self.position,
        }

    @classmethod
    def from_json(cls, data: Any) -> ChainHead:
        try:
            head = cls(
                UUID(data["chain"]),
                int(data["seq"]),
                bytes.fromhex(data["hash"]),
                int(data["position"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise MalformedProof(f"a chain head is not one: {error}") from None
        if len(head.hash) != HASH_BYTES or head.seq < 1 or head.position < 1:
            raise MalformedProof(f"chain {head.chain}'s head is not one")
        return head


def canonical(document: Mapping[str, Any]) -> bytes:
    """The bytes signed: JSON with sorted keys, no spaces, ASCII only."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def head_position(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute(HEAD_POSITION).fetchone()
    return int(row[0]) if row else 0


def verified_heads(
    conn: psycopg.Connection[Any], up_to: int, partner_id: UUID | None = None
) -> list[ChainHead]:
    """Every chain's head at `up_to` (or one partner's), after a walk found them intact."""
    with conn.transaction():
        rows = conn.execute(HEADS, (up_to, partner_id, partner_id)).fetchall()
    heads = [ChainHead(row[0], int(row[1]), bytes(row[2]), int(row[3])) for row in rows]
    walked = verify(conn, partner_id=partner_id, up_to=up_to)
    if walked.first_break is not None:
        raise broken(walked.first_break, walked.break_count)
    if {h.chain: (h.seq, h.hash) for h in heads} != {
        chain: (head.seq, head.hash) for chain, head in walked.heads.items()
    }:
        raise ChainBroken(
            f"The chains changed below position {up_to} while they were verified.",
            position=up_to,
        )
    return heads


def broken(first: Break, count: int) -> ChainBroken:
    return ChainBroken(
        f"Nothing was signed: {count} broken link{'s' * (count != 1)}; the first at position "
        f"{first.position}: {first.message}",
        position=first.position,
        partner_id=first.partner_id,
        break_kind=first.kind.value,
    )


def digest_document(heads: list[ChainHead], up_to: int, made_at: datetime) -> dict[str, Any]:
    """What is signed: the format, when, up to which position, and each chain's head."""
    return {
        "format": DIGEST_FORMAT,
        "version": DIGEST_VERSION,
        "made_at": made_at.isoformat(),
        "up_to_position": up_to,
        "chains": [head.as_json() for head in sorted(heads, key=lambda h: str(h.chain))],
    }


def sign(document: dict[str, Any], key: SigningKey) -> dict[str, Any]:
    """A document and its signature, with the public key that checks it and that key's id."""
    public = key.public
    return {
        "digest": document,
        "algorithm": ALGORITHM,
        "key_id": public.key_id,
        "public_key": public.raw_base64,
        "signature": base64.b64encode(key.sign(canonical(document))).decode(),
    }


def signed_digest(
    conn: psycopg.Connection[Any],
    key: SigningKey,
    made_at: datetime,
    *,
    up_to: int | None = None,
    partner_id: UUID | None = None,
) -> dict[str, Any]:
    """The signed digest of the chains' heads at `up_to` (the head now by default)."""
    position = head_position(conn) if up_to is None else up_to
    heads = verified_heads(conn, position, partner_id)
    return sign(digest_document(heads, position, made_at), key)


@dataclass(frozen=True)
class SignedDigest:
    """A signed digest as read back: the document, its heads, and its signature."""

    document: Mapping[str, Any]
    up_to: int
    heads: dict[UUID, ChainHead]
    key_id: str
    signature: bytes

    def signed_by(self, key: VerifyingKey) -> bool:
        return key.signed(canonical(self.document), self.signature)

    @classmethod
    def parse(cls, data: Any) -> SignedDigest:
        """A signed digest from its JSON, or MalformedProof naming what is wrong."""
        try:
            document = data["digest"]
            if (document["format"], document["version"]) != (DIGEST_FORMAT, DIGEST_VERSION):
                raise MalformedProof(
                    f"not a {DIGEST_FORMAT} v{DIGEST_VERSION} digest: "
                    f"{document['format']!r} v{document['version']!r}"
                )
            heads = [ChainHead.from_json(each) for each in document["chains"]]
            signature = base64.b64decode(data["signature"], validate=True)
            return cls(
                document,
                int(document["up_to_position"]),
                {head.chain: head for head in heads},
                str(data.get("key_id", "")),
                signature,
            )
        except (KeyError, TypeError, ValueError, binascii.Error) as error:
            if isinstance(error, MalformedProof):
                raise
            raise MalformedProof(f"not a signed digest: {error!r}") from None
