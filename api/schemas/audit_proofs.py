"""Response schemas of `/v1/audit/verify` and `/v1/audit/digest`: what a walk of the hash
chains found, and the chains' heads signed by the vendor (issue 14; docs/audit.md)."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from replay.verify import BreakKind


class ChainBreakResponse(BaseModel):
    """One broken link: where, in which chain, and what it looks like."""

    position: int = Field(description="The log position of the row where the chain breaks.")
    chain: UUID | None = Field(
        description="The chain: a partner's id, the nil UUID for the vendor's; null for a row "
        "outside every chain."
    )
    partner_id: UUID | None = Field(description="The partner whose chain broke, if a partner's.")
    kind: BreakKind = Field(
        description="`altered`, `missing` (rows deleted), `out_of_order` (rows moved), "
        "`unchained` (a row the ledger did not write)."
    )
    message: str


class VerificationResponse(BaseModel):
    """What a walk of the hash chains found: intact, or each break (up to 100) and the count.
    A break is reported, not an error: the answer is 200 either way."""

    intact: bool
    up_to_position: int = Field(ge=0, description="The log position the walk went up to.")
    partner_id: UUID | None = Field(description="The one partner walked, if asked.")
    events: int = Field(ge=0, description="Events walked.")
    chains: int = Field(ge=0, description="Chains walked.")
    break_count: int = Field(ge=0)
    first_break: ChainBreakResponse | None
    breaks: list[ChainBreakResponse] = Field(description="The first 100 breaks, in log order.")


class ChainHeadResponse(BaseModel):
    """A chain's last link at the digest's position."""

    chain: str = Field(description="A partner's id, or the nil UUID for the vendor's chain.")
    seq: int = Field(ge=1, description="The link's number in its chain.")
    hash: str = Field(pattern="^[0-9a-f]{64}$", description="The link's SHA-256, hex.")
    position: int = Field(ge=1, description="The link's log position.")


class DigestDocument(BaseModel):
    """What is signed, as canonical JSON: sorted keys, no spaces, ASCII only."""

    format: Literal["ledgerline/digest"]
    version: Literal[1]
    made_at: str = Field(description="When it was signed (ISO 8601), by the ledger's clock.")
    up_to_position: int = Field(ge=0)
    chains: list[ChainHeadResponse] = Field(description="Every chain's head, sorted by chain.")


class SignedDigestResponse(BaseModel):
    """The chains' heads at a position, verified, then signed with the vendor's Ed25519 key."""

    digest: DigestDocument
    algorithm: Literal["Ed25519"]
    key_id: str = Field(description="The first 16 hex digits of SHA-256 of the raw public key.")
    public_key: str = Field(description="The raw 32-byte Ed25519 public key, base64.")
    signature: str = Field(description="The signature of the canonical digest, base64.")
