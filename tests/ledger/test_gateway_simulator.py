"""The payment gateway simulator behaves like a processor's test mode (R-X4, R-H4)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from domain.money import Money
from domain.payment_methods import BankAccountDetails, CardDetails
from ledger.payments.gateway import ChargeStatus
from ledger.payments.simulator import SimulatedGateway

NOW = datetime(2026, 1, 15, 12, tzinfo=UTC)  # a Thursday
USD = Money(10_000, "USD")


def card(number: str, month: int = 12, year: int = 2030) -> CardDetails:
    details = CardDetails(number, month, year, "Ada Lovelace", "123", "12345")
    return details.validated(date(2026, 1, 1))


def bank(account: str) -> BankAccountDetails:
    return BankAccountDetails("110000000", account, "Acme Inc").validated()


@pytest.mark.parametrize(
    ("number", "status", "code"),
    [
        ("4242424242424242", ChargeStatus.SUCCEEDED, None),
        ("5555555555554444", ChargeStatus.SUCCEEDED, None),
        ("4000000000000002", ChargeStatus.DECLINED, "card_declined"),
        ("4000000000000069", ChargeStatus.DECLINED, "expired_card"),
        ("4000000000009995", ChargeStatus.DECLINED, "insufficient_funds"),
    ],
)
def test_r_h4_test_cards_succeed_or_decline_with_a_code_and_a_reason(
    number: str, status: ChargeStatus, code: str | None
) -> None:
    gateway = SimulatedGateway()
    result = gateway.charge(gateway.tokenize_card(card(number)), USD, "key-1", NOW)
    assert (result.status, result.decline_code, result.amount) == (status, code, USD)
    assert (result.reason is None) == (code is None)


def test_r_x4_a_token_never_holds_the_card_number() -> None:
    token = SimulatedGateway().tokenize_card(card("4000000000009995"))
    assert "4000000000009995" not in repr(token)
    assert (token.last4, token.brand.value, token.expiry_year) == ("9995", "visa", 2030)


def test_a_stored_card_past_its_expiry_is_declined_as_expired() -> None:
    gateway = SimulatedGateway()
    token = gateway.tokenize_card(card("4242424242424242", month=1, year=2026))
    assert gateway.charge(token, USD, "key-2", NOW).status is ChargeStatus.SUCCEEDED
    result = gateway.charge(token, USD, "key-3", datetime(2026, 2, 1, tzinfo=UTC))
    assert (result.status, result.decline_code) == (ChargeStatus.DECLINED, "expired_card")


def test_the_same_idempotency_key_charges_once_and_answers_the_same() -> None:
    gateway = SimulatedGateway()
    token = gateway.tokenize_card(card("4242424242424242"))
    first = gateway.charge(token, USD, "invoice-7/attempt-1", NOW)
    again = gateway.charge(token, USD, "invoice-7/attempt-1", NOW)
    other = gateway.charge(token, USD, "invoice-7/attempt-2", NOW)
    assert first == again
    assert other.charge_id != first.charge_id
    assert len(gateway.charges) == 2


def test_tokens_behave_the_same_in_another_process() -> None:
    token = SimulatedGateway().tokenize_card(card("4000000000000002"))
    result = SimulatedGateway().charge(token, USD, "key-4", NOW)
    assert result.decline_code == "card_declined"


@pytest.mark.parametrize(
    ("account", "code"),
    [
        ("000123456789", None),
        ("000111111116", "no_account"),
        ("000111111113", "account_closed"),
        ("000222222227", "insufficient_funds"),
    ],
)
def test_ach_debits_are_pending_then_settle_or_bounce_after_two_business_days(
    account: str, code: str | None
) -> None:
    gateway = SimulatedGateway()
    token = gateway.tokenize_bank_account(bank(account))
    charge = gateway.charge(token, USD, f"debit-{account}", NOW)
    assert charge.status is ChargeStatus.PENDING
    assert gateway.settlement(charge.charge_id, datetime(2026, 1, 16, 23, tzinfo=UTC)) is None
    # Thursday + 2 business days = Monday; a new process knows the outcome from the id alone.
    settled = SimulatedGateway().settlement(charge.charge_id, datetime(2026, 1, 19, tzinfo=UTC))
    assert settled is not None
    assert (settled.charge_id, settled.succeeded, settled.decline_code) == (
        charge.charge_id,
        code is None,
        code,
    )
    assert (settled.reason is None) == (code is None)


def test_refunds_are_idempotent() -> None:
    gateway = SimulatedGateway()
    first = gateway.refund("sim_ch_1", Money(500, "USD"), "refund-1", NOW)
    assert gateway.refund("sim_ch_1", Money(500, "USD"), "refund-1", NOW) == first
    assert gateway.refund("sim_ch_1", Money(500, "USD"), "refund-2", NOW) != first
