"""A bundle checked offline, with nothing but the vendor's public key and, if the auditor kept
one, an earlier signed digest: no setting, no database (issue 14; docs/audit.md, "Verifying a
bundle offline").

The events are hashed again from GENESIS with `ledger.audit_chain.event_hash`
(`replay.bundles.check_chain`), the last one must be the head the digest signed, the signature
must be the given key's, and the chain must pass through the earlier digest's head (nothing
before it changed, nothing removed).
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from replay.bundles import BUNDLE_FORMAT, BUNDLE_VERSION, BundledEvent, Finding, check_chain
from replay.digests import ChainHead, MalformedProof, SignedDigest
from replay.proofs_keys import VerifyingKey


@dataclass
@dataclass
class BundleCheck:
    """What checking a bundle found: valid when nothing is wrong."""

    partner_id: UUID
    up_to: int
    events: int
    head: ChainHead | None
    key_id: str
    findings: list[Finding] = field(default_factory=list)
    earlier_up_to: int | None = None

    @property
    def valid(self) -> bool:
        return not self.findings

    def as_json(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "partner_id": str(self.partner_id),
            "up_to_position": self.up_to,
            "events": self.events,
            "head": self.head.as_json() if self.head else None,
            "key_id": self.key_id,
            "earlier_digest_position": self.earlier_up_to,
            "findings": [each.as_json() for each in self.findings],
        }


def check_bundle(bundle: Any, key: VerifyingKey, earlier: Any = None) -> BundleCheck:
    """Check a bundle (parsed JSON) with the vendor's public key, and against an earlier
    signed digest if given; MalformedProof when either is not one at all."""
    partner_id, up_to, events, digest = _parse(bundle)
    head = ChainHead(partner_id, events[-1].chain_seq, events[-1].hash, events[-1].position)
    result = BundleCheck(partner_id, up_to, len(events), head, key.key_id)
    result.findings += check_chain(partner_id, events)
    if not digest.signed_by(key):
        result.findings.append(
            Finding(
                "bad_signature",
                f"the digest is not signed by the key given (key id {key.key_id}; the bundle "
                f"names key id {digest.key_id or 'none'})",
            )
        )
    signed = digest.heads.get(partner_id)
    if signed is None or (signed.seq, signed.hash, signed.position) != (
        head.seq,
        head.hash,
        head.position,
    ):
        result.findings.append(
            Finding(
                "head_mismatch",
                f"the last event, link {head.seq} at position {head.position}, is not the "
                "head the digest signed"
                + (f" (link {signed.seq} at position {signed.position})" if signed else ""),
                head.position,
            )
        )
    if earlier is not None:
        kept = SignedDigest.parse(earlier)
        result.earlier_up_to = kept.up_to
        result.findings += _extends(partner_id, events, kept, key)
    return result


def _extends(
    partner_id: UUID, events: list[BundledEvent], kept: SignedDigest, key: VerifyingKey
) -> list[Finding]:
    """Whether the chain passes through the head an earlier digest signed: the same link at
    the same position with the same hash, and no link of its own at or before that position
    beyond it."""
    if not kept.signed_by(key):
        return [
            Finding("earlier_bad_signature", "the earlier digest is not signed by the key given")
        ]
    head = kept.heads.get(partner_id)
    seq = head.seq if head else 0
    found = [
        Finding(
            "history_rewritten",
            f"link {event.chain_seq} at position {event.position} differs from the earlier "
            f"digest's head at position {kept.up_to}: the history before it was rewritten",
            event.position,
        )
        for event in events
        if head is not None
        and event.chain_seq == seq
        and (event.hash, event.position) != (head.hash, head.position)
    ]
    found += [
        Finding(
            "history_rewritten",
            f"link {event.chain_seq} at position {event.position} is not in the earlier digest "
            f"of position {kept.up_to}, which ends the chain at link {seq}: the history before "
            "it was rewritten",
            event.position,
        )
        for event in events
        if event.chain_seq > seq and event.position <= kept.up_to
    ]
    if head is not None and not any(event.chain_seq == seq for event in events):
        found.append(
            Finding(
                "history_rewritten",
                f"the earlier digest's link {seq} is not in the bundle: events were removed",
            )
        )
    return found


def _parse(bundle: Any) -> tuple[UUID, int, list[BundledEvent], SignedDigest]:
    try:
        if (bundle["format"], bundle["version"]) != (BUNDLE_FORMAT, BUNDLE_VERSION):
            raise MalformedProof(
                f"not a {BUNDLE_FORMAT} v{BUNDLE_VERSION} bundle: "
                f"{bundle['format']!r} v{bundle['version']!r}"
            )
        partner_id = UUID(bundle["partner_id"])
        up_to = int(bundle["up_to_position"])
        events = []
        for number, each in enumerate(bundle["events"], start=1):
            try:
                events.append(BundledEvent.from_json(each))
            except (KeyError, TypeError, ValueError, binascii.Error) as error:
                raise MalformedProof(
                    f"event {number} of the bundle is not one: {error!r}"
                ) from None
        digest = SignedDigest.parse(bundle["digest"])
    except (KeyError, TypeError, ValueError) as error:
        if isinstance(error, MalformedProof):
            raise
        raise MalformedProof(f"not a bundle: {error!r}") from None
    if not events:
        raise MalformedProof("the bundle holds no events")
    return partner_id, up_to, events, digest
