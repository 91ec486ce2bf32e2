"""SubscriptionLine transfers: a client's subscription moves to a new reseller (R-E1), with a
complete request (R-E2), once every invoice is settled (R-E3), on the preferred date but no
sooner than two business days after the request is complete (R-E4).
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import uuid4

import pytest

from domain.calendar import Term
from domain.payment_methods import PaymentSource
from domain.pricing import BillingPolicy
from domain.subscription_line import TransferParty
from tests.domain.lines import (
    FRIDAY,
    MONDAY,
    NEW_PARTNER,
    NOW,
    OTHER_PARTNER,
    PARTNER,
    POLICY,
    TUESDAY,
    L,
    active,
    draft,
    period,
    renew_next,
    request,
    transfer_request,
    usd,
)
from tests.domain.steps import refused, then


def test_r_e1_r_e2_a_transfer_request_carries_every_field() -> None:
    line = active()
    request(line)
    [requested] = then(line, L.TransferRequested)
    expected = transfer_request(end_user_name="Bistro Uno", owner_email="owner@bistro.example")
    assert (requested.request, requested.requested_on) == (expected, FRIDAY)
    assert (line.transfer, line.consents) == (expected, ())
    assert line.missing_consents == tuple(TransferParty)


def invalid(field: str) -> tuple[str, dict[str, str]]:
    return "invalid_value", {"field": field}


@pytest.mark.parametrize(
    ("overrides", "refusal"),
    [
        ({"billing": Term.TWELVE_MONTHS}, invalid("billing")),
        ({"payment_method": PaymentSource.BONUS}, invalid("payment_method")),
        ({"payment_method": PaymentSource.COMPANY_BALANCE}, invalid("payment_method")),
        ({"owner_email": "owner at bistro"}, invalid("owner_email")),
        ({"invoice_email": "ap@localhost"}, invalid("invoice_email")),
        ({"end_user_name": "  "}, invalid("end_user_name")),
        ({"new_reseller_id": PARTNER}, ("transfer_not_allowed", {"reason": "same_reseller"})),
        (
            {"current_reseller_id": OTHER_PARTNER},
            ("transfer_not_allowed", {"reason": "not_current_reseller"}),
        ),
    ],
)
def test_r_e2_an_incomplete_or_wrong_request_is_refused(
    overrides: dict[str, Any], refusal: tuple[str, dict[str, str]]
) -> None:
    line = active()
    assert refused(line, lambda: request(line, *TransferParty, **overrides)) == refusal


@pytest.mark.parametrize(
    "payment_method",
    [PaymentSource.CARD, PaymentSource.DIRECT_DEBIT, PaymentSource.BANK_TRANSFER],
)
def test_r_e2_a_transfer_is_paid_by_card_direct_debit_or_invoice(
    payment_method: PaymentSource,
) -> None:
    line = active()
    request(line, billing=Term.MONTHLY, payment_method=payment_method)
    [requested] = then(line, L.TransferRequested)
    assert (requested.request.billing, requested.request.payment_method) == (
        Term.MONTHLY,
        payment_method,
    )


def test_r_e2_a_second_request_or_one_for_a_line_not_active_is_refused() -> None:
    line, pending = active(), draft()
    request(line)
    line.collect_events()
    refusal = refused(line, lambda: request(line))
    assert refusal == ("transfer_not_allowed", {"reason": "already_requested"})
    assert refused(pending, lambda: request(pending)) == ("line_not_active", {"status": "draft"})


def test_r_e3_a_transfer_is_refused_while_an_invoice_is_open() -> None:
    line = active()
    for number in ("INV-000010", "INV-000002"):
        line.record_invoice(uuid4(), number, usd(5_000), line.current_period, NOW)
    line.collect_events()
    assert refused(line, lambda: request(line, *TransferParty)) == (
        "invoice_not_settled",
        {"unsettled": ["INV-000002", "INV-000010"]},
    )


def test_r_e3_once_every_invoice_is_settled_or_voided_the_transfer_is_accepted() -> None:
    line = active()
    paid, voided = uuid4(), uuid4()
    line.record_invoice(paid, "INV-000001", usd(5_000), line.current_period, NOW)
    line.record_invoice(voided, "INV-000002", usd(5_000), None, NOW)
    line.record_invoice_settled(paid, NOW)
    line.record_invoice_voided(voided, NOW)
    then(line, L.Invoiced, L.Invoiced, L.InvoiceSettled, L.InvoiceVoided)
    request(line)
    then(line, L.TransferRequested)


def test_r_e3_settlement_is_checked_again_at_completion() -> None:
    line = active()
    request(line, *TransferParty)
    line.record_invoice(uuid4(), "INV-000003", usd(5_000), line.next_period, NOW)
    line.collect_events()
    assert refused(line, lambda: line.complete_transfer(TUESDAY, NOW)) == (
        "invoice_not_settled",
        {"unsettled": ["INV-000003"]},
    )


@pytest.mark.parametrize(
    ("preferred", "holidays", "effective"),
    [
        (FRIDAY, frozenset(), TUESDAY),  # a Friday request: two business days is Tuesday
        (FRIDAY, frozenset({MONDAY}), date(2026, 1, 21)),  # Monday a holiday: Wednesday
        (date(2026, 2, 2), frozenset(), date(2026, 2, 2)),  # the preferred date is later
    ],
)
def test_r_e4_with_all_consents_the_transfer_is_scheduled(
    preferred: date, holidays: frozenset[date], effective: date
) -> None:
    line = active()
    request(line, *TransferParty, preferred_date=preferred, policy=BillingPolicy(holidays=holidays))
    consent = L.TransferConsentGiven
    events = then(line, L.TransferRequested, consent, consent, consent, L.TransferScheduled)
    assert [e.party for e in events[1:4]] == list(TransferParty)
    assert (events[-1].effective_on, line.transfer_effective_on) == (effective, effective)


def test_r_e4_the_minimum_counts_from_the_last_consent() -> None:
    line = active()
    request(line, TransferParty.CLIENT, TransferParty.NEW_RESELLER)
    line.collect_events()
    line.give_consent(TransferParty.CURRENT_RESELLER, MONDAY, POLICY, NOW)
    [given, scheduled] = then(line, L.TransferConsentGiven, L.TransferScheduled)
    assert (given.party, scheduled.effective_on) == (
        TransferParty.CURRENT_RESELLER,
        date(2026, 1, 21),
    )


def test_r_e4_completion_before_the_effective_date_is_refused() -> None:
    line = active()
    request(line, *TransferParty)
    line.collect_events()
    assert refused(line, lambda: line.complete_transfer(MONDAY, NOW)) == (
        "transfer_not_allowed",
        {"reason": "not_yet", "effective_on": "2026-01-20"},
    )


def test_r_e4_on_the_effective_date_the_line_moves_to_the_new_reseller() -> None:
    line = active()
    line.set_autopay(PaymentSource.CARD, NOW)
    request(line, *TransferParty)
    line.collect_events()
    assert line.complete_transfer(TUESDAY, NOW) == NEW_PARTNER
    [moved] = then(line, L.Transferred)
    assert (moved.partner_id, moved.new_partner_id) == (PARTNER, NEW_PARTNER)
    assert (moved.effective_on, moved.term) == (TUESDAY, Term.ANNUAL)
    assert (line.partner_id, line.term, line.unified_billing) == (NEW_PARTNER, Term.ANNUAL, False)
    assert (line.autopay, line.transfer) == (None, None)
    renew_next(line)
    [renewed] = then(line, L.Renewed)
    assert (renewed.partner_id, renewed.period) == (
        NEW_PARTNER,
        period((2026, 2, 28), (2027, 2, 28)),
    )


def test_r_e4_completion_without_every_consent_is_refused() -> None:
    line, idle = active(), active()
    request(line, TransferParty.CLIENT)
    line.collect_events()
    assert refused(line, lambda: line.complete_transfer(date(2026, 3, 1), NOW)) == (
        "consent_missing",
        {"missing": ["current_reseller", "new_reseller"]},
    )
    assert refused(idle, lambda: idle.complete_transfer(date(2026, 3, 1), NOW)) == (
        "transfer_not_allowed",
        {"reason": "not_requested"},
    )
