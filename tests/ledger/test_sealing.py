"""Personal fields sealed at rest (issue 11, ledger/sealing.py): the key's own rules.

The whole story over HTTP, every column scanned, is tests/api/test_sealing.py. Here: a start
with another key, or with none over sealed data, is refused; a sealed field opened with another
key fails loudly, never as garbage; snapshots are sealed as events are, and aggregates loaded
from sealed events and snapshots equal those loaded from clear ones (the domain never sees
ciphertext); without a key the stored JSON is as it always was.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import MapperDeserialisationError
from pydantic import ValidationError

from domain.partner_account import PartnerAccount
from domain.payment_methods import CardDetails
from domain.values import Address
from ledger import store
from ledger.application import Ledger
from ledger.clock import SimulatedClock
from ledger.database import Database
from ledger.sealing import ENVELOPE, CipherKeyMissing, CipherKeyWrong, Sealer
from ledger.settings import Settings
from ledger.transcodings import LedgerMapper, LedgerTranscoder

KEY = Sealer.create_key()
OTHER_KEY = Sealer.create_key()
LEGAL_NAME = "Bramblewick Ventures GmbH"
EMAIL = "rechnung@bramblewick.example"
STREET = "Hasenheide 99"
CLIENT_NAME = "Theodora Bramblewick"
HOLDER = "Konstantin Wendehals"
PERSONAL = (LEGAL_NAME, EMAIL, STREET, CLIENT_NAME, HOLDER)


@contextmanager
def started(database: Database, clock: SimulatedClock, key: str | None) -> Iterator[Ledger]:
    ledger = Ledger(database, clock, sealer=Sealer(key) if key else None, pool_size=1)
    try:
        yield ledger
    finally:
        ledger.close()


def a_partner(ledger: Ledger) -> UUID:
    """A partner with every kind of personal field the account holds."""
    partner = ledger.open_partner_account(
        name="Bramblewick", currency="EUR", time_zone="Europe/Berlin", key="open"
    ).aggregate_id
    assert partner is not None
    address = Address.of([STREET], "Berlin", "10967", "DE")
    ledger.record_billing_profile(partner, LEGAL_NAME, address, EMAIL, key="profile")
    ledger.register_client(partner, name=CLIENT_NAME, email=EMAIL, key="client")
    card = CardDetails("4242424242424242", 12, 2030, HOLDER, "123", "10967")
    ledger.add_payment_method(partner, card, key="card")
    return partner


def stored_states(database: Database) -> list[bytes]:
    with database.connect() as conn:
        rows = conn.execute(
            "SELECT state FROM ledger_events UNION ALL SELECT state FROM ledger_snapshots"
        ).fetchall()
    return [bytes(row[0]) for row in rows]


def comparable(account: PartnerAccount) -> dict[str, Any]:
    return {key: value for key, value in vars(account).items() if key != "_pending_events"}


def test_issue_11_a_start_with_another_key_or_with_none_over_sealed_data_is_refused(
    database: Database, clock: SimulatedClock
) -> None:
    with started(database, clock, KEY) as ledger:
        partner = a_partner(ledger)
    with pytest.raises(CipherKeyWrong, match="not the key this ledger was sealed with"):
        Ledger(database, clock, sealer=Sealer(OTHER_KEY), pool_size=1)
    with pytest.raises(CipherKeyMissing, match="set LEDGERLINE_CIPHER_KEY"):
        Ledger(database, clock, pool_size=1)
    with started(database, clock, KEY) as ledger:
        assert ledger.partner_account(partner).entity == LEGAL_NAME


def test_issue_11_a_sealed_field_opened_with_another_key_fails_loudly_never_as_garbage(
    database: Database, clock: SimulatedClock
) -> None:
    with started(database, clock, KEY) as ledger:
        partner = a_partner(ledger)
        with ledger.reads.connection() as conn:
            # Past the start's check: the events themselves refuse another key, or none.
            for sealer, refusal in ((Sealer(OTHER_KEY), CipherKeyWrong), (None, CipherKeyMissing)):
                mapper = LedgerMapper(LedgerTranscoder(sealer))
                with pytest.raises(MapperDeserialisationError) as raised:
                    store.load(conn, mapper, partner, snapshots=True)
                assert isinstance(raised.value.__cause__, refusal)
    with pytest.raises(CipherKeyWrong):
        Sealer(KEY).open(ENVELOPE + "bm90IHNlYWxlZA==")


def test_issue_11_snapshots_are_sealed_and_the_domain_only_ever_sees_clear_values(
    database: Database, clock: SimulatedClock
) -> None:
    with started(database, clock, KEY) as ledger:
        partner = a_partner(ledger)
        account = ledger.partner_account(partner)
        snapshot = store.take_snapshot(ledger.mapper, account)
        restored = ledger.mapper.to_domain_event(snapshot).mutate(None)  # type: ignore[attr-defined]
        with ledger.reads.connection() as conn:
            from_events = store.load(conn, ledger.mapper, partner, snapshots=False)
    states = [*stored_states(database), snapshot.state]
    assert [text for text in PERSONAL for state in states if text.encode() in state] == []
    assert ENVELOPE.encode() in snapshot.state
    assert comparable(restored) == comparable(account) == comparable(from_events)
    assert (account.entity, account.billing_email) == (LEGAL_NAME, EMAIL)
    assert account.address is not None
    assert account.address.lines == (STREET,)
    [card] = account.payment_methods.values()
    assert card.holder == HOLDER  # type: ignore[union-attr]


def test_issue_11_without_a_key_nothing_is_sealed(
    database: Database, clock: SimulatedClock
) -> None:
    with started(database, clock, None) as ledger:
        a_partner(ledger)
    states = stored_states(database)
    assert all(text.encode() in b"".join(states) for text in PERSONAL)
    assert not any(ENVELOPE.encode() in state for state in states)
    with database.connect() as conn:
        assert conn.execute("SELECT count(*) FROM key_check").fetchone() == (0,)


def test_a_cipher_key_that_is_not_16_24_or_32_bytes_of_base64_is_refused_without_echoing_it(
    database: Database,
) -> None:
    for bad in ("not base64!", "c2hvcnQ="):
        with pytest.raises(ValidationError) as raised:
            Settings(database_url=database.url, cipher_key=bad)  # type: ignore[arg-type]
        assert "16, 24 or 32 bytes in base64" in str(raised.value)
        assert bad not in str(raised.value)
