"""API keys: who may call the HTTP API, and as what.

A key is shown once, when it is made, as `ll_<key id>_<secret>`. The database keeps the key id
(public, it names the key in logs and in `ledgerline keys list`), the SHA-256 digest of the
secret, the role and, for a partner key, the partner it is bound to. A digest of a 256-bit
random secret cannot be reversed or guessed, so a fast hash is the right one here (as for
GitHub's and Stripe's tokens); a slow password hash would only slow every request down.

Roles:

- `admin` (the vendor): reads everything and issues every command.
- `partner` (bound to one partner): reads and commands its own partner account, clients,
  lines, invoices, documents and wallet; another partner's ids answer 404.
- `finance`: reads everything; its one command is confirming that money a partner announced
  (a bank transfer, cash, a cheque) reached the vendor, which is finance's work (R-H2).
- `auditor`: reads everything (and audit replay), issues no command.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

import psycopg

from domain.values import VENDOR, Actor

KEY_PREFIX = "ll"
KEY_PATTERN = re.compile(r"^ll_(?P<key_id>[0-9a-f]{16})_(?P<secret>[A-Za-z0-9_-]{43})$")

DDL = """
CREATE TABLE IF NOT EXISTS api_keys (
    key_id text PRIMARY KEY,
    secret_sha256 bytea NOT NULL,
    role text NOT NULL CHECK (role IN ('admin', 'partner', 'finance', 'auditor')),
    partner_id uuid,
    label text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    CHECK ((role = 'partner') = (partner_id IS NOT NULL))
)
"""


class Role(StrEnum):
    ADMIN = "admin"
    PARTNER = "partner"
    FINANCE = "finance"
    AUDITOR = "auditor"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's id, its role and, for a partner key, its partner."""

    key_id: str
    role: Role
    partner_id: UUID | None = None

    @property
    def may_command(self) -> bool:
        """Admins and partners issue commands; finance only confirms receipts, auditors read."""
        return self.role in (Role.ADMIN, Role.PARTNER)

    @property
    def actor(self) -> Actor:
        """Who the ledger sees acting: this partner (on its own resources only) or the vendor."""
        return Actor(self.partner_id) if self.role is Role.PARTNER else VENDOR

    def sees(self, partner_id: UUID | None) -> bool:
        """Whether this caller may see what belongs to `partner_id`."""
        return self.role is not Role.PARTNER or partner_id == self.partner_id


@dataclass(frozen=True)
class KeyInfo:
    """A key as `ledgerline keys list` shows it: never its secret."""

    key_id: str
    role: Role
    partner_id: UUID | None
    label: str
    created_at: datetime
    revoked_at: datetime | None


class KeyRefused(ValueError):
    """A key cannot be made as asked (a partner key without its partner, say)."""


def install(conn: psycopg.Connection[Any]) -> None:
    conn.execute(DDL)


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def create_key(
    conn: psycopg.Connection[Any], role: Role, partner_id: UUID | None = None, label: str = ""
) -> tuple[str, str]:
    """Make a key; answer its id and the whole key, which is shown once and never stored."""
    if (role is Role.PARTNER) != (partner_id is not None):
        raise KeyRefused(
            "A partner key needs --partner, and only a partner key takes one."
            if role is Role.PARTNER
            else f"A {role.value} key is not bound to a partner; leave out --partner."
        )
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    conn.execute(
        "INSERT INTO api_keys (key_id, secret_sha256, role, partner_id, label) "
        "VALUES (%s, %s, %s, %s, %s)",
        (key_id, _digest(secret), role.value, partner_id, label),
    )
    return key_id, f"{KEY_PREFIX}_{key_id}_{secret}"


def authenticate(conn: psycopg.Connection[Any], token: str) -> Principal | None:
    """The caller a presented key names, or None if it is malformed, unknown or revoked."""
    match = KEY_PATTERN.match(token)
    if match is None:
        return None
    row = conn.execute(
        "SELECT secret_sha256, role, partner_id FROM api_keys "
        "WHERE key_id = %s AND revoked_at IS NULL",
        (match["key_id"],),
    ).fetchone()
    if row is None or not hmac.compare_digest(bytes(row[0]), _digest(match["secret"])):
        return None
    return Principal(match["key_id"], Role(row[1]), row[2])


def revoke(conn: psycopg.Connection[Any], key_id: str) -> bool:
    """Revoke a key; False if there is no such live key."""
    cursor = conn.execute(
        "UPDATE api_keys SET revoked_at = now() WHERE key_id = %s AND revoked_at IS NULL",
        (key_id,),
    )
    return cursor.rowcount == 1


def list_keys(conn: psycopg.Connection[Any]) -> list[KeyInfo]:
    rows = conn.execute(
        "SELECT key_id, role, partner_id, label, created_at, revoked_at FROM api_keys "
        "ORDER BY created_at, key_id"
    ).fetchall()
    return [KeyInfo(row[0], Role(row[1]), row[2], row[3], row[4], row[5]) for row in rows]


def any_keys(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute("SELECT EXISTS (SELECT 1 FROM api_keys WHERE revoked_at IS NULL)").fetchone()
    return bool(row and row[0])


def reissue_key(conn: psycopg.Connection[Any], key_id: str, role: Role, label: str = "") -> str:
    """The key `key_id` (made if new, and live again if revoked) with a fresh secret: a key
    whose id must stay the same from run to run, such as the demo loader's, whose
    Idempotency-Keys live in its namespace. The whole key, shown once, is answered."""
    if role is Role.PARTNER or not re.fullmatch(r"[0-9a-f]{16}", key_id):
        raise KeyRefused("Only a vendor key with a 16-hex-digit id is reissued.")
    secret = secrets.token_urlsafe(32)
    conn.execute(
        "INSERT INTO api_keys (key_id, secret_sha256, role, label) VALUES (%s, %s, %s, %s) "
        "ON CONFLICT (key_id) DO UPDATE SET secret_sha256 = excluded.secret_sha256, "
        "role = excluded.role, label = excluded.label, revoked_at = NULL",
        (key_id, _digest(secret), role.value, label),
    )
    return f"{KEY_PREFIX}_{key_id}_{secret}"
