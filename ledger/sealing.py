"""Personal fields sealed at rest with AES-GCM, when `LEDGERLINE_CIPHER_KEY` is set (issue 11).

What is sealed, and why only that. Sealing whole events with the library's cipher would blind
the read models, which are SQL over the events' JSON (ledger/schema.py, projections/sql.py).
So only the fields that name or reach a person are sealed, each on its own, inside the JSON:

- in events and snapshots (ledger/transcodings.py `PERSONAL_FIELDS`): a partner's name, its
  legal entity, postal address and billing e-mail; a client's name and e-mail; a card's
  holder and a bank account's name; a transfer request's end user and its two e-mails;
- in `outbox`: the recipient, subject and body of every e-mail, and the recipient inside its
  dedup key (as a keyed digest, so a retried command still queues it once).

Amounts, ids, dates, currencies, statuses and event kinds stay clear, so every read model, the
trial balance and a rebuild work unchanged. A sealed field is stored as
`{"_type_": "sealed", "_data_": "enc:v1:<base64 of nonce, tag, ciphertext>"}`. The plaintext
in an envelope is always JSON: the field's own tagged JSON in an event, a JSON string in the
outbox. The mapper seals on the way in and opens on the way out,
so the domain never sees ciphertext. Read models that copy a sealed field copy the envelope
string (`ll_personal` in projections/sql.py), and the edge opens it on the way out (`reveal`):
the partner directory's and closing documents' names, the e-mails list, the activity feed's
sentence about a transfer (its facts keep the sealed fields), the PDFs and the mail sender.

Not sealed, and why: location names (labels of a client's places of business, which the
invoices and activity read models copy onto invoice lines in SQL), free-text references, notes
and reasons (the caller's words, never asked to hold a person's data), command fingerprints
(SHA-256 digests of the command), API key labels, and the log lines (not stored here).

The key: 16, 24 or 32 random bytes in base64 (`ledgerline keys cipher-key`). Without a key
nothing is sealed and Ledgerline behaves exactly as before. With one, `key_check` keeps a
sealed known text: a start with a different key, or none while sealed data exists, is refused
with a clear message, and a damaged or foreign envelope fails loudly, never as garbage.
Events written before the key was set stay in clear; key rotation is not supported yet.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from base64 import b64decode, b64encode
from binascii import Error as Base64Error
from typing import Any

import psycopg
from eventsourcing.cipher import AESCipher
from eventsourcing.utils import Environment

ENVELOPE = "enc:v1:"
"""The prefix of a sealed text: the scheme (AES-GCM under the one key) and its version."""
SEALED = "sealed"
"""The tag of a sealed field in the stored JSON: `{"_type_": "sealed", "_data_": envelope}`."""
KEY_BYTES = 32
"""AES-256: the size `ledgerline keys cipher-key` makes."""
KEY_CHECK_TEXT = "ledgerline key check"
"""Sealed once into `key_check`, so a start with another key is refused before any read."""


class CipherKeyMissing(Exception):
    """Sealed data exists, but no `LEDGERLINE_CIPHER_KEY` is set to open it."""


class CipherKeyWrong(Exception):
    """The key cannot open what was sealed: another key, or a damaged envelope."""


class Sealer:
    """Seals and opens text with one AES-GCM key (the eventsourcing library's AESCipher)."""

    def __init__(self, key: str) -> None:
        try:
            self._cipher = AESCipher(Environment(env={AESCipher.CIPHER_KEY: key}))
            raw = b64decode(key.encode("ascii"), validate=True)
        except (ValueError, Base64Error, UnicodeEncodeError):
            # The messages would not quote the key, but say nothing of it all the same.
            raise ValueError(
                "LEDGERLINE_CIPHER_KEY must be 16, 24 or 32 bytes in base64 "
                "(make one with `ledgerline keys cipher-key`)"
            ) from None
        self._digest_key = hashlib.sha256(b"ledgerline digest\x00" + raw).digest()

    @staticmethod
    def create_key() -> str:
        """A new random key, base64."""
        return AESCipher.create_key(KEY_BYTES)

    def seal(self, text: str) -> str:
        """The text as an envelope: `enc:v1:` and base64 of nonce, tag and ciphertext."""
        sealed = self._cipher.encrypt(text.encode("utf-8"))
        return ENVELOPE + b64encode(sealed).decode("ascii")

    def open(self, envelope: str) -> str:
        """The text sealed in an envelope; CipherKeyWrong if this key did not seal it."""
        if not envelope.startswith(ENVELOPE):
            raise CipherKeyWrong("not a sealed text of a known version")
        try:
            sealed = b64decode(envelope[len(ENVELOPE) :].encode("ascii"), validate=True)
            return self._cipher.decrypt(sealed).decode("utf-8")
        except (ValueError, Base64Error, UnicodeError):
            raise CipherKeyWrong(
                "a sealed field cannot be opened: LEDGERLINE_CIPHER_KEY is not the key it was "
                "sealed with, or the data is damaged"
            ) from None

    def seal_text(self, text: str) -> str:
        """A text as an envelope (of its JSON, as every envelope holds)."""
        return self.seal(json.dumps(text, ensure_ascii=False))

    def open_text(self, envelope: str) -> str:
        """The text `seal_text` sealed."""
        text = json.loads(self.open(envelope))
        if not isinstance(text, str):
            raise CipherKeyWrong("a sealed field holds no text")
        return text

    def digest(self, text: str) -> str:
        """A keyed digest of the text: equal for equal texts, telling nothing without the key."""
        return hmac.new(self._digest_key, text.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def is_sealed(value: object) -> bool:
    """Whether a stored text is an envelope."""
    return isinstance(value, str) and value.startswith(ENVELOPE)


def reveal(sealer: Sealer | None, value: str | None) -> str | None:
    """A stored text as people read it: opened if sealed, as it is otherwise.

    Without a key nothing is opened: a ledger with sealed data does not start without one
    (`check_key`), so a text that merely looks like an envelope ("enc:v1:Acme") was given so.
    With a key, such a text written before the key was set fails loudly (CipherKeyWrong).
    """
    if sealer is None or value is None or not value.startswith(ENVELOPE):
        return value
    return sealer.open_text(value)


def reveal_text(sealer: Sealer | None, value: str) -> str:
    """`reveal` for a text that is never missing."""
    opened = reveal(sealer, value)
    assert opened is not None  # noqa: S101 - reveal keeps a text a text
    return opened


KEY_CHECK_DDL = """
CREATE TABLE IF NOT EXISTS key_check (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    sealed text NOT NULL
)
"""


def check_key(conn: psycopg.Connection[Any], sealer: Sealer | None) -> None:
    """Refuse to start with a key that is not the one data was sealed with, or with none.

    The first start with a key seals a known text into `key_check`; every later start opens
    it. Runs at start, in the schema's transaction, so two processes cannot race.
    """
    conn.execute(KEY_CHECK_DDL)
    row = conn.execute("SELECT sealed FROM key_check").fetchone()
    if row is None:
        if sealer is not None:
            conn.execute(
                "INSERT INTO key_check (sealed) VALUES (%s)", (sealer.seal_text(KEY_CHECK_TEXT),)
            )
        return
    if sealer is None:
        raise CipherKeyMissing(
            "this ledger's personal fields are sealed: set LEDGERLINE_CIPHER_KEY to the key they "
            "were sealed with"
        )
    wrong = "LEDGERLINE_CIPHER_KEY is not the key this ledger was sealed with"
    try:
        opened = sealer.open_text(str(row[0]))
    except CipherKeyWrong:
        raise CipherKeyWrong(wrong) from None
    if opened != KEY_CHECK_TEXT:
        raise CipherKeyWrong(wrong)
