"""The vendor's Ed25519 key that signs the digests of the audit chains (issue 14; docs/audit.md).

The private key is a PEM file (PKCS#8, unencrypted, mode 0600): the one a setting names
(`LEDGERLINE_AUDIT_SIGNING_KEY`), or else `audit-signing-key.pem` in LEDGERLINE_HOME, made on
first use. Anyone holding the public key checks a signature; it is published raw (32 bytes,
base64) in every signed document and as PEM by `ledgerline audit public-key`.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

KEY_FILE = "audit-signing-key.pem"
"""The private key's file in LEDGERLINE_HOME when no setting names one."""
KEY_ID_HEX_CHARS = 16
"""A key id is the first 16 hex digits (64 bits) of SHA-256 of the raw public key: enough to
tell a vendor's keys apart at a glance, not a security boundary (the whole key is checked)."""
ALGORITHM = "Ed25519"
KEY_FILE_BYTES_MAX = 64 * 1024
"""A key file is about 120 bytes; anything far larger is not one."""


class SigningKeyUnusable(Exception):
    """The signing key's file cannot be read or is not an Ed25519 private key."""


class PublicKeyUnusable(Exception):
    """A public key given to check with is not an Ed25519 public key (PEM or raw base64)."""


@dataclass(frozen=True)
class VerifyingKey:
    """A public key, as an auditor keeps it."""

    key: Ed25519PublicKey

    @property
    def raw(self) -> bytes:
        return self.key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    @property
    def raw_base64(self) -> str:
        return base64.b64encode(self.raw).decode()

    @property
    def key_id(self) -> str:
        return hashlib.sha256(self.raw).hexdigest()[:KEY_ID_HEX_CHARS]

    def pem(self) -> str:
        return self.key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    def signed(self, message: bytes, signature: bytes) -> bool:
        """Whether `signature` is this key's over `message`."""
        try:
            self.key.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    @classmethod
    def parse(cls, text: str) -> VerifyingKey:
        """A public key written as PEM (`ledgerline audit public-key`) or as 32 raw bytes in
        base64 (the `public_key` of a signed document)."""
        text = text.strip()
        try:
            if text.startswith("-----BEGIN"):
                loaded = serialization.load_pem_public_key(text.encode())
                if not isinstance(loaded, Ed25519PublicKey):
                    raise PublicKeyUnusable("the PEM key is not an Ed25519 public key")
                return cls(loaded)
            return cls(Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True)))
        except (ValueError, TypeError) as error:
            raise PublicKeyUnusable(
                "not an Ed25519 public key (PEM, or 32 bytes in base64)"
            ) from error


@dataclass(frozen=True)
class SigningKey:
    """The vendor's private key, and where it was read from."""

    key: Ed25519PrivateKey
    path: Path

    @property
    def public(self) -> VerifyingKey:
        return VerifyingKey(self.key.public_key())

    def sign(self, message: bytes) -> bytes:
        return self.key.sign(message)


def key_path(configured: Path | None, home: Path) -> Path:
    """Where the signing key is: the configured file, or the one in LEDGERLINE_HOME."""
    return (configured or home / KEY_FILE).expanduser()


def signing_key(configured: Path | None, home: Path) -> SigningKey:
    """The configured key (which must exist), or the one in `home`, made on first use."""
    path = key_path(configured, home)
    if configured is None and not path.exists():
        _make(path)
    return _read(path)


def _make(path: Path) -> None:
    """Write a new key beside its place, then link it there: a process starting at the same
    time either links first or finds the other's key, never half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".signing-key-")
    try:
        os.fchmod(descriptor, 0o600)
        os.write(descriptor, pem)
        os.fsync(descriptor)
        os.close(descriptor)
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)


def _read(path: Path) -> SigningKey:
    try:
        data = path.read_bytes()[:KEY_FILE_BYTES_MAX]
        loaded = serialization.load_pem_private_key(data, password=None)
    except OSError as error:
        raise SigningKeyUnusable(
            f"the signing key {path} cannot be read: {error.strerror}"
        ) from None
    except (ValueError, TypeError):
        raise SigningKeyUnusable(f"{path} is not an unencrypted PEM private key") from None
    if not isinstance(loaded, Ed25519PrivateKey):
        raise SigningKeyUnusable(f"{path} is not an Ed25519 private key")
    return SigningKey(loaded, path)
