"""A partner's chain as a self-contained bundle, and its check offline: with nothing but the
vendor's public key, no database (issue 14; docs/audit.md, "Bundles").

A bundle is one JSON document: its format, the partner, the log position it was exported at,
every event of the partner's chain in order (each with the bytes its hash covers, and the
hash), and a digest of the chain's head signed by the vendor. This module makes bundles and
checks a chain's links; replay/proofs_check.py checks a whole bundle offline.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg

from domain.errors import PartnerNotFound
from ledger.audit_chain import GENESIS, event_hash
from ledger.store import EVENTS_TABLE
from replay.digests import HEAD_POSITION, ChainBroken, ChainHead, digest_document, sign
from replay.proofs_keys import SigningKey

BUNDLE_FORMAT = "ledgerline/bundle"
BUNDLE_VERSION = 1

CHAIN_EVENTS = (
    "SELECT notification_id, chain_seq, originator_id, originator_version, topic, state, "  # noqa: S608
    f"recorded_at, cause, hash FROM {EVENTS_TABLE} "
    "WHERE chain = %s AND notification_id <= %s ORDER BY chain_seq, notification_id"
)


@dataclass(frozen=True)
class BundledEvent:
    """One event of the chain, with every byte its hash covers."""

    position: int
    chain_seq: int
    originator_id: UUID
    originator_version: int
    topic: str
    state: bytes
    recorded_at: datetime | None
    cause: Mapping[str, Any] | None
    hash: bytes

    def as_json(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "chain_seq": self.chain_seq,
            "originator_id": str(self.originator_id),
            "originator_version": self.originator_version,
            "topic": self.topic,
            "state": base64.b64encode(self.state).decode(),
            "recorded_at": self.recorded_at.isoformat() if self.recorded_at else None,
            "cause": self.cause,
            "hash": self.hash.hex(),
        }

    @classmethod
    def from_json(cls, data: Any) -> BundledEvent:
        recorded = data["recorded_at"]
        cause = data["cause"]
        if cause is not None and not isinstance(cause, dict):
            raise TypeError("cause is not an object")
        return cls(
            int(data["position"]),
            int(data["chain_seq"]),
            UUID(data["originator_id"]),
            int(data["originator_version"]),
            str(data["topic"]),
            base64.b64decode(data["state"], validate=True),
            datetime.fromisoformat(recorded) if recorded is not None else None,
            cause,
            bytes.fromhex(data["hash"]),
        )

    def expected_hash(self, previous: bytes, chain: UUID) -> bytes:
        return event_hash(
            previous,
            position=self.position,
            chain=chain,
            chain_seq=self.chain_seq,
            originator_id=self.originator_id,
            originator_version=self.originator_version,
            topic=self.topic,
            state=self.state,
            recorded_at=self.recorded_at,
            cause=self.cause,
        )


def export_bundle(
    conn: psycopg.Connection[Any], partner_id: UUID, key: SigningKey, made_at: datetime
) -> dict[str, Any]:
    """The partner's chain up to the head now, in one snapshot, with its head signed. A chain
    that does not check is not signed (`ChainBroken`); a partner with no chain is unknown."""
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        row = conn.execute(HEAD_POSITION).fetchone()
        up_to = int(row[0]) if row else 0
        rows = conn.execute(CHAIN_EVENTS, (partner_id, up_to)).fetchall()
    if not rows:
        raise PartnerNotFound.of(partner_id)
    events = [
        BundledEvent(
            position=row[0],
            chain_seq=row[1],
            originator_id=row[2],
            originator_version=row[3],
            topic=row[4],
            state=bytes(row[5]),
            recorded_at=row[6],
            cause=row[7],
            hash=bytes(row[8]),
        )
        for row in rows
    ]
    found = check_chain(partner_id, events)
    if found:
        first = found[0]
        raise ChainBroken(
            f"Nothing was exported: partner {partner_id}'s chain is broken at position "
            f"{first.position}: {first.message}",
            position=first.position,
            partner_id=partner_id,
        )
    last = events[-1]
    head = ChainHead(partner_id, last.chain_seq, last.hash, last.position)
    return {
        "format": BUNDLE_FORMAT,
        "version": BUNDLE_VERSION,
        "partner_id": str(partner_id),
        "up_to_position": up_to,
        "events": [event.as_json() for event in events],
        "digest": sign(digest_document([head], up_to, made_at), key),
    }


@dataclass(frozen=True)
class Finding:
    """One thing a bundle's check found wrong, with a stable code."""

    code: str
    message: str
    position: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "position": self.position}


def check_chain(chain: UUID, events: list[BundledEvent]) -> list[Finding]:
    """The links from GENESIS: numbered 1, 2, 3, … in position order, each hash recomputed.
    After a wrong link the check goes on from it as given, so each is named once."""
    found: list[Finding] = []
    previous, expected_seq, last_position = GENESIS, 1, 0
    for event in events:
        at = f"link {event.chain_seq} (position {event.position})"
        if event.chain_seq > expected_seq:
            found.append(
                Finding(
                    "missing",
                    f"links {expected_seq}-{event.chain_seq - 1} are missing before {at}",
                    event.position,
                )
            )
        elif event.chain_seq < expected_seq or event.position <= last_position:
            found.append(Finding("out_of_order", f"{at} is out of order", event.position))
        elif event.expected_hash(previous, chain) != event.hash:
            found.append(
                Finding(
                    "altered",
                    f"{at} does not match its hash: its bytes or its position were changed",
                    event.position,
                )
            )
        previous, expected_seq, last_position = event.hash, event.chain_seq + 1, event.position
    return found
