"""Command fingerprints (ledger/fingerprints.py): a repeat under an idempotency key is told from
another command by a canonical encoding of its fields, not by `repr()`, and keys recorded with
the old `repr` digest still replay (R-X5).

The pure tests cost milliseconds (hypothesis: 60 small examples); the two over PostgreSQL
write one account each.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.calendar import Anchor
from domain.money import Money
from ledger.application import EVENTS_TABLE, Ledger
from ledger.commands import partners as partner_commands
from ledger.commands.base import LedgerCommand
from ledger.database import Database
from ledger.errors import IdempotencyKeyReused
from ledger.fingerprints import VERSION_PREFIX, canonical_json, legacy_fingerprint
from ledger.unit_of_work import UnitOfWork

PARTNER = UUID("6f1c2b8e-3d4a-4c5b-9e7f-0a1b2c3d4e5f")
LEGACY_OPEN_FINGERPRINT = "105d51470999d287bce02119d51a3cf3e9cd136358805796f6d3f5620a5cb613"
"""What the writer recorded for `legacy_open()` before canonical fingerprints (the SHA-256 of
its repr, computed by the code of commit b2d82e2): frozen, as rows in command_log hold it."""


def legacy_open() -> partner_commands.OpenPartnerAccount:
    return partner_commands.OpenPartnerAccount(
        partner_id=PARTNER,
        name="Acme Resellers",
        currency="USD",
        time_zone="America/New_York",
        anchor=Anchor.ANNIVERSARY,
    )


def _handle(self: Any, uow: UnitOfWork) -> tuple[UUID | None, dict[str, Any]]:
    raise NotImplementedError  # never run: these commands are only fingerprinted


def command_class(fields: list[tuple[str, Any, Any]]) -> Any:
    """A command `Probe` with these fields, in this order (name, type, default or MISSING)."""
    specs = [
        (name, kind) if default is dataclasses.MISSING else (name, kind, default)
        for name, kind, default in fields
    ]
    return dataclasses.make_dataclass(
        "Probe",
        specs,
        bases=(LedgerCommand,),
        namespace={"handle": _handle},
        frozen=True,
        kw_only=True,
    )


PROBE_FIELDS: list[tuple[str, Any, Any]] = [
    ("partner_id", UUID, dataclasses.MISSING),
    ("amount", Money, dataclasses.MISSING),
    ("anchor", Anchor, dataclasses.MISSING),
    ("note", str, dataclasses.MISSING),
    ("line_ids", tuple[UUID, ...], dataclasses.MISSING),
]
PROBE_VALUES: dict[str, Any] = {
    "partner_id": PARTNER,
    "amount": Money(20000, "USD"),
    "anchor": Anchor.CALENDAR,
    "note": 'ünïcode and "quotes"',
    "line_ids": (UUID(int=2), UUID(int=1)),
}


@settings(max_examples=60, deadline=None)
@given(order=st.permutations(range(len(PROBE_FIELDS))))
def test_r_x5_a_fingerprint_does_not_depend_on_the_order_of_the_fields(order: list[int]) -> None:
    declared = command_class(PROBE_FIELDS)(**PROBE_VALUES)
    reordered = command_class([PROBE_FIELDS[i] for i in order])(**PROBE_VALUES)
    assert reordered.fingerprint() == declared.fingerprint()
    assert reordered.fingerprint().startswith(VERSION_PREFIX)
    if order != sorted(order):  # the repr digest, by contrast, moved with the order
        assert legacy_fingerprint(reordered) != legacy_fingerprint(declared)


@dataclass(frozen=True, repr=False)
class Note:
    """A value whose repr names its address in memory: two equal notes print differently."""

    text: str


def test_r_x5_a_fingerprint_does_not_depend_on_how_a_value_prints() -> None:
    probe = command_class([("note", Note, dataclasses.MISSING)])
    first, second = probe(note=Note("same")), probe(note=Note("same"))
    assert repr(first) != repr(second)
    assert legacy_fingerprint(first) != legacy_fingerprint(second)
    assert first.fingerprint() == second.fingerprint()
    assert probe(note=Note("other")).fingerprint() != first.fingerprint()


def test_r_x5_adding_a_field_with_a_default_keeps_the_fingerprints_recorded_before() -> None:
    before = command_class(PROBE_FIELDS)
    after = command_class([*PROBE_FIELDS, ("reference", str | None, None)])
    assert after(**PROBE_VALUES).fingerprint() == before(**PROBE_VALUES).fingerprint()
    changed = after(**PROBE_VALUES, reference="INV-7")
    assert changed.fingerprint() != before(**PROBE_VALUES).fingerprint()


def test_r_x5_every_value_changes_the_fingerprint() -> None:
    probe = command_class(PROBE_FIELDS)
    base = probe(**PROBE_VALUES).fingerprint()
    others = {
        "partner_id": UUID(int=3),
        "amount": Money(20000, "EUR"),
        "anchor": Anchor.ANNIVERSARY,
        "note": "unicode",
        "line_ids": (UUID(int=1), UUID(int=2)),
    }
    for name, value in others.items():
        assert probe(**{**PROBE_VALUES, name: value}).fingerprint() != base, name


def test_r_x5_the_canonical_encoding_is_frozen() -> None:
    # Stored in command_log: a change here makes every recorded key refuse its own retry.
    command = dataclasses.replace(legacy_open(), anchor=Anchor.CALENDAR)
    assert canonical_json(command) == (
        '{"anchor":{"_data_":"calendar","_type_":"enum:anchor"},"currency":"USD",'
        '"name":"Acme Resellers","partner_id":{"_data_":"6f1c2b8e3d4a4c5b9e7f0a1b2c3d4e5f",'
        '"_type_":"uuid_hex"},"time_zone":"America/New_York"}'
    )
    assert command.fingerprint() == (
        "v2:2bd5914ec1ed14128129fb6b3d1915312246eac2f3a13822ab519f1ad03656f7"
    )
    assert legacy_fingerprint(legacy_open()) == LEGACY_OPEN_FINGERPRINT


def count_events(database: Database) -> int:
    with database.connect() as conn:
        row = conn.execute(f"SELECT count(*) FROM {EVENTS_TABLE}").fetchone()
    assert row is not None
    return int(row[0])


def recorded_fingerprint(database: Database, key: str) -> str:
    with database.connect() as conn:
        row = conn.execute("SELECT fingerprint FROM command_log WHERE key = %s", (key,)).fetchone()
    assert row is not None
    return str(row[0])


def test_r_x5_a_key_recorded_with_a_repr_fingerprint_still_replays(
    ledger: Ledger, database: Database
) -> None:
    first = ledger.execute(legacy_open(), "open-acme")
    assert recorded_fingerprint(database, "open-acme").startswith(VERSION_PREFIX)
    with database.connect() as conn:  # the row as a Ledgerline before the upgrade wrote it
        conn.execute(
            "UPDATE command_log SET fingerprint = %s WHERE key = %s",
            (LEGACY_OPEN_FINGERPRINT, "open-acme"),
        )
    events = count_events(database)

    again = ledger.execute(legacy_open(), "open-acme")

    assert again.replayed
    assert (again.aggregate_id, again.position) == (first.aggregate_id, first.position)
    assert count_events(database) == events
    assert recorded_fingerprint(database, "open-acme") == LEGACY_OPEN_FINGERPRINT
    with pytest.raises(IdempotencyKeyReused):
        ledger.execute(dataclasses.replace(legacy_open(), name="Other"), "open-acme")
    with pytest.raises(IdempotencyKeyReused):  # another command under the key: refused too
        ledger.execute(partner_commands.SetBudget(partner_id=PARTNER, amount=None), "open-acme")
    assert count_events(database) == events


def test_r_x5_a_canonical_fingerprint_is_never_compared_as_a_repr_one(
    ledger: Ledger, database: Database
) -> None:
    # A v2 row holding the repr digest's text after its prefix must not match by that digest.
    ledger.execute(legacy_open(), "open-acme")
    with database.connect() as conn:
        conn.execute(
            "UPDATE command_log SET fingerprint = %s WHERE key = %s",
            (f"{VERSION_PREFIX}{LEGACY_OPEN_FINGERPRINT}", "open-acme"),
        )
    with pytest.raises(IdempotencyKeyReused):
        ledger.execute(legacy_open(), "open-acme")


def test_r_x5_shuffled_keys_of_a_mapping_field_encode_the_same() -> None:
    probe = command_class([("labels", dict[str, str], dataclasses.MISSING)])
    items = [(f"k{n}", f"v{n}") for n in range(8)]
    shuffled = items[:]
    random.Random(7).shuffle(shuffled)
    assert probe(labels=dict(items)).fingerprint() == probe(labels=dict(shuffled)).fingerprint()
