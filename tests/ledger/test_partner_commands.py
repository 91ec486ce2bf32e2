"""Partner commands decide ownership and idempotency themselves (issue 12): a partner acting on
another partner's account is refused as if the account did not exist, and a key reused for
another card, bank account or top-up is refused, each before the payment processor is asked;
the method a command kept is answered from the command log (R-X4, R-X5).

Each test runs on its own database copy and a handful of commands (well under a second each).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest

from domain.errors import PartnerNotFound
from domain.money import Money
from domain.payment_methods import CardDetails, MethodSummary, PaymentSource
from domain.values import Actor, Address
from ledger.application import Ledger
from ledger.command_records import CommandResult
from ledger.commands.lines import Outstanding
from ledger.database import Database
from ledger.errors import IdempotencyKeyReused, VendorOnly
from ledger.partner_operations import showing_method
from ledger.payments.simulator import SimulatedGateway
from tests.ledger.payments_support import ACH, VISA

MASTERCARD = CardDetails("5555555555554444", 11, 2031, "Ada Lovelace", "321", "10001")
VISA_AS_YY = CardDetails("4242 4242 4242 4242", 12, 30, "Ada Lovelace", "123", "10001")
"""The same card as VISA, its expiry typed MM/YY: the domain reads YY in this century."""


def usd(minor: int) -> Money:
    return Money(minor, "USD")


def _events(database: Database) -> int:
    with database.connect() as conn:
        row = conn.execute("SELECT count(*) FROM ledger_events").fetchone()
    assert row is not None
    return int(str(row[0]))


def _partner(ledger: Ledger, name: str) -> UUID:
    partner = ledger.open_partner_account(name=name, currency="USD", time_zone="UTC").aggregate_id
    assert partner is not None
    return partner


def _processor_calls(gateway: SimulatedGateway) -> tuple[int, int]:
    return len(gateway.tokens), len(gateway.charges)


def test_r_x5_a_partner_acting_on_another_partners_account_is_refused_as_not_found(
    ledger: Ledger, database: Database, gateway: SimulatedGateway
) -> None:
    """Every command on a partner account, driven by another partner: `partner_not_found`,
    nothing written, nothing tokenised or charged; the owner itself may act."""
    owner, other = _partner(ledger, "Acme"), _partner(ledger, "Rival")
    card = UUID(ledger.add_payment_method(owner, VISA, make_default=True).data["method_id"])
    client = ledger.register_client(owner, name="Bistro").aggregate_id
    assert client is not None
    stranger = Actor(other)
    address = Address(("1 Main St",), "Springfield", "12345", "US")
    attempts: list[Callable[[], Any]] = [
        lambda: ledger.record_billing_profile(owner, "Acme", address, "a@b.c", actor=stranger),
        lambda: ledger.add_payment_method(owner, MASTERCARD, actor=stranger),
        lambda: ledger.add_payment_method(owner, ACH, actor=stranger),
        lambda: ledger.replace_payment_method(owner, card, MASTERCARD, actor=stranger),
        lambda: ledger.make_default_payment_method(owner, card, actor=stranger),
        lambda: ledger.top_up(owner, usd(100), PaymentSource.CARD, actor=stranger),
        lambda: ledger.top_up(owner, usd(100), PaymentSource.BANK_TRANSFER, actor=stranger),
        lambda: ledger.announce_top_up(owner, usd(100), "W1", actor=stranger),
        lambda: ledger.register_client(owner, name="Cafe", actor=stranger),
        lambda: ledger.remove_client_from_unified_billing(owner, client, actor=stranger),
        lambda: ledger.set_budget(owner, usd(100), actor=stranger),
        lambda: ledger.set_account_autopay(owner, PaymentSource.CARD, actor=stranger),
    ]
    events, calls = _events(database), _processor_calls(gateway)
    for attempt in attempts:
        with pytest.raises(PartnerNotFound) as refusal:
            attempt()
        assert refusal.value.code == "partner_not_found"
    assert (_events(database), _processor_calls(gateway)) == (events, calls)

    topped = ledger.top_up(owner, usd(100), PaymentSource.CARD, actor=Actor(owner))
    assert topped.data["balance_minor"] == 100
    assert _processor_calls(gateway) == (calls[0], calls[1] + 1)


def test_r_h2_only_the_vendor_records_a_bank_top_up_of_a_partners_own_account(
    ledger: Ledger, database: Database
) -> None:
    """A partner announces money it sent by bank; recording it as arrived is the vendor's word
    (decided in the command, after the account is found to be the partner's own)."""
    owner = _partner(ledger, "Acme")
    events = _events(database)
    with pytest.raises(VendorOnly) as refusal:
        ledger.top_up(owner, usd(100), PaymentSource.BANK_TRANSFER, actor=Actor(owner))
    assert (refusal.value.code, _events(database)) == ("forbidden", events)
    recorded = ledger.top_up(owner, usd(100), PaymentSource.BANK_TRANSFER, reference="W1")
    assert recorded.data["balance_minor"] == 100


def test_r_x5_a_key_reused_for_another_card_is_refused_before_the_card_is_tokenised(
    ledger: Ledger, database: Database, gateway: SimulatedGateway
) -> None:
    """The same card again under its key (even typed MM/YY: the domain's two-digit-year rule)
    answers the first answer, method shown, without tokenising it again; another card, a bank
    account or another choice of default under the key is `idempotency_key_reused`."""
    partner = _partner(ledger, "Acme")
    first = ledger.add_payment_method(partner, VISA, key="add-card")
    assert first.data["method"] == {
        "kind": "card",
        "last4": "4242",
        "brand": "visa",
        "expiry_month": 12,
        "expiry_year": 2030,
        "routing_number": None,
    }
    events, calls = _events(database), _processor_calls(gateway)

    for same in (VISA, VISA_AS_YY):
        again = ledger.add_payment_method(partner, same, key="add-card")
        assert again.replayed
        assert (again.position, again.data) == (first.position, first.data)
    for other in (MASTERCARD, ACH):
        with pytest.raises(IdempotencyKeyReused):
            ledger.add_payment_method(partner, other, key="add-card")
    with pytest.raises(IdempotencyKeyReused):
        ledger.add_payment_method(partner, VISA, make_default=True, key="add-card")
    assert (_events(database), _processor_calls(gateway)) == (events, calls)
    assert "4242424242424242" not in repr(first.data)


def test_r_h5_r_x5_a_replacement_replays_with_its_method_and_refuses_another_card_first(
    ledger: Ledger, database: Database, gateway: SimulatedGateway
) -> None:
    """Replacing a card: the repeat answers the new method from the command log; the key with
    another card or the other choice for what is outstanding is refused, nothing tokenised."""
    partner = _partner(ledger, "Acme")
    old = UUID(ledger.add_payment_method(partner, VISA).data["method_id"])
    first = ledger.replace_payment_method(partner, old, MASTERCARD, key="replace")
    assert first.data["method"]["last4"] == "4444"
    assert first.data["method_id"] != str(old)
    events, calls = _events(database), _processor_calls(gateway)

    again = ledger.replace_payment_method(partner, old, MASTERCARD, key="replace")
    assert (again.replayed, again.data["method"]) == (True, first.data["method"])
    with pytest.raises(IdempotencyKeyReused):
        ledger.replace_payment_method(partner, old, VISA, key="replace")
    with pytest.raises(IdempotencyKeyReused):
        ledger.replace_payment_method(
            partner, old, MASTERCARD, Outstanding.MARK_PAID, key="replace"
        )
    assert (_events(database), _processor_calls(gateway)) == (events, calls)


def test_r_c2_r_x5_a_top_up_key_reused_for_another_top_up_is_refused_before_any_charge(
    ledger: Ledger, database: Database, gateway: SimulatedGateway
) -> None:
    """A card top-up repeated under its key charges once and answers the first answer; the
    key with another amount, another card or a bank transfer is refused, nothing charged."""
    partner = _partner(ledger, "Acme")
    ledger.add_payment_method(partner, VISA, make_default=True)
    second = UUID(ledger.add_payment_method(partner, MASTERCARD).data["method_id"])
    card = PaymentSource.CARD
    first = ledger.top_up(partner, usd(500), card, key="top-up")
    events, calls = _events(database), _processor_calls(gateway)

    again = ledger.top_up(partner, usd(500), PaymentSource.CARD, key="top-up")
    assert (again.replayed, again.data) == (True, first.data)
    refused: list[Callable[[], Any]] = [
        lambda: ledger.top_up(partner, usd(600), PaymentSource.CARD, key="top-up"),
        lambda: ledger.top_up(
            partner, usd(500), PaymentSource.CARD, method_id=second, key="top-up"
        ),
        lambda: ledger.top_up(partner, usd(500), PaymentSource.BANK_TRANSFER, key="top-up"),
    ]
    for attempt in refused:
        with pytest.raises(IdempotencyKeyReused):
            attempt()
    assert (_events(database), _processor_calls(gateway)) == (events, calls)


def test_an_answer_recorded_before_answers_showed_the_method_shows_what_the_retry_named() -> None:
    """Keys recorded before the method was in the answer were replayed by key alone (their
    fingerprints are `v2:`); their replay shows the method the retry names, never a 500."""
    recorded = CommandResult(None, 7, {"method_id": "m"}, replayed=True)
    shown = showing_method(recorded, MethodSummary.of(VISA_AS_YY))
    assert shown.data["method"]["expiry_year"] == 2030
    assert (shown.position, shown.replayed) == (7, True)
    current = CommandResult(None, 7, {"method_id": "m", "method": {"kind": "ach"}}, replayed=True)
    assert showing_method(current, MethodSummary.of(VISA)) is current
