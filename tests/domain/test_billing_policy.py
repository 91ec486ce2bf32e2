"""The billing policy as history (issue 13): numbered versions with effective dates, the
version in force on a business date, and changes refused unless they start on a day no partner
has begun yet (R-X7). The card fee of R-O7 is the worked example: 3 % until a change says 2.5 %."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given as for_all
from hypothesis import settings
from hypothesis import strategies as st

from domain.billing_policy import (
    POLICY_DAYS_MAX,
    PolicyHistory,
    last_day_begun,
    policy_on,
)
from domain.calendar import Term
from domain.money import Money
from domain.pricing import BillingPolicy, card_fee_line, cashback_for
from tests.domain.gwt import NOW, given, replayed, then_events, then_refused

BASE = BillingPolicy()
MARCH = date(2026, 3, 1)
"""NOW is 2026-01-31 09:30 UTC: already 2026-01-31 everywhere (UTC+14 is at 23:30)."""


def history() -> PolicyHistory:
    return given(PolicyHistory.start(NOW))


def test_r_o7_a_card_fee_change_applies_only_from_its_effective_date() -> None:
    policy = history()
    policy.schedule({"card_fee_rate": "0.025"}, MARCH, BASE, NOW)
    then_events(
        policy,
        (
            PolicyHistory.ChangeScheduled,
            {"version": 1, "effective_from": MARCH, "changes": {"card_fee_rate": "0.025"}},
        ),
    )
    before, on = policy.policy_on(MARCH - timedelta(days=1), BASE), policy.policy_on(MARCH, BASE)
    assert (before.version, before.card_fee_rate) == (0, Decimal("0.03"))
    assert (on.version, on.card_fee_rate) == (1, Decimal("0.025"))
    paid = Money(100_00, "USD")
    assert [card_fee_line(paid, p).amount for p in (before, on)] == [  # type: ignore[union-attr]
        Money(3_00, "USD"),
        Money(2_50, "USD"),
    ]
    # Only what the change names moved: the cashback rate is version 0's on both days.
    assert cashback_for(paid, before) == cashback_for(paid, on) == Money(10_00, "USD")


def test_with_no_history_the_base_policy_is_in_force_from_the_beginning_of_time() -> None:
    assert policy_on(None, BASE, date(1970, 1, 1)) is BASE
    assert BASE.version == 0


def test_r_x6_versions_stack_in_date_order_and_replay_to_the_same_history() -> None:
    policy = history()
    policy.schedule({"card_fee_rate": "0.025"}, MARCH, BASE, NOW)
    policy.schedule(
        {"grace_period_days": "10", "duration_discount:twelve_months": "0.15"},
        date(2026, 4, 1),
        BASE,
        NOW,
    )
    # The same day again: a later version of that day replaces the earlier one from then on.
    policy.schedule({"card_fee_rate": "0.02"}, date(2026, 4, 1), BASE, NOW)
    april = policy.policy_on(date(2026, 4, 1), BASE)
    assert april.version == 3
    assert april.card_fee_rate == Decimal("0.02")
    assert april.grace_period_days == 10
    assert april.duration_discounts[Term.TWELVE_MONTHS] == Decimal("0.15")
    assert policy.policy_on(date(2026, 3, 31), BASE).grace_period_days == BASE.grace_period_days
    assert [change.version for change in policy.scheduled_after(MARCH)] == [2, 3]
    events = [*PolicyHistory.start(NOW).collect_events()]
    rebuilt = replayed([*events, *policy.collect_events()])
    assert isinstance(rebuilt, PolicyHistory)
    assert rebuilt.policy_on(date(2026, 4, 1), BASE) == april


def test_values_are_stored_in_one_canonical_spelling() -> None:
    policy = history()
    changes = {"card_fee_rate": "0.0250", "cashback_rate": "1e-3", "payment_terms_days": "030"}
    policy.schedule(changes, MARCH, BASE, NOW)
    [event] = policy.collect_events()
    assert event.changes == {
        "card_fee_rate": "0.025",
        "cashback_rate": "0.001",
        "payment_terms_days": "30",
    }


def test_r_x7_a_change_from_a_day_some_partner_has_begun_is_refused() -> None:
    policy = history()
    for day in (NOW.date(), NOW.date() - timedelta(days=30)):
        with then_refused(
            policy,
            "policy_change_not_in_future",
            {"effective_from": day.isoformat(), "earliest": "2026-02-01"},
        ):
            policy.schedule({"card_fee_rate": "0.025"}, day, BASE, NOW)
    # At 10:00 UTC it is already tomorrow in Kiribati (UTC+14): tomorrow is too soon there.
    ten = datetime(2026, 1, 31, 10, tzinfo=UTC)
    assert last_day_begun(ten) == date(2026, 2, 1)
    with then_refused(
        policy,
        "policy_change_not_in_future",
        {"effective_from": "2026-02-01", "earliest": "2026-02-02"},
    ):
        policy.schedule({"card_fee_rate": "0.025"}, date(2026, 2, 1), BASE, ten)


def test_r_x6_a_change_before_one_already_scheduled_is_refused() -> None:
    policy = history()
    policy.schedule({"card_fee_rate": "0.025"}, MARCH, BASE, NOW)
    policy.collect_events()
    with then_refused(
        policy,
        "policy_change_out_of_order",
        {"effective_from": "2026-02-15", "earliest": "2026-03-01"},
    ):
        policy.schedule({"cashback_rate": "0.05"}, date(2026, 2, 15), BASE, NOW)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({}, "changes"),
        ({"card_fee_rate": "1"}, "card_fee_rate"),  # RATE_MAX is excluded
        ({"card_fee_rate": "-0.01"}, "card_fee_rate"),
        ({"card_fee_rate": "0.025000000000000001"}, "card_fee_rate"),  # a float pasted
        ({"card_fee_rate": "NaN"}, "card_fee_rate"),
        ({"card_fee_rate": "2.5%"}, "card_fee_rate"),
        ({"grace_period_days": "-1"}, "grace_period_days"),
        ({"grace_period_days": str(POLICY_DAYS_MAX + 1)}, "grace_period_days"),
        ({"grace_period_days": "٣"}, "grace_period_days"),  # an Arabic-Indic digit
        ({"grace_period_days": "9" * 5_000}, "grace_period_days"),  # past int()'s own limit
        ({"duration_discount:forever": "0.1"}, "duration_discount:forever"),
        ({"lead_threshold_minor:USD": "1.5"}, "lead_threshold_minor:USD"),
        ({"holidays": "2026-12-25"}, "holidays"),
    ],
)
def test_a_change_the_rules_would_not_accept_is_refused(
    changes: dict[str, str], field: str
) -> None:
    policy = history()
    with then_refused(policy, "invalid_value", {"field": field}):
        policy.schedule(changes, MARCH, BASE, NOW)


def test_an_unknown_currency_threshold_is_refused() -> None:
    policy = history()
    with then_refused(policy, "currency_unknown", {"currency": "XXY"}):
        policy.schedule({"lead_threshold_minor:XXY": "100"}, MARCH, BASE, NOW)


@settings(max_examples=60, deadline=None)
@for_all(
    starts=st.lists(st.integers(1, 400), min_size=1, max_size=6).map(sorted),
    rates=st.lists(st.integers(0, 999), min_size=6, max_size=6),
    probe=st.integers(-10, 420),
)
def test_the_version_in_force_is_the_last_one_begun(
    starts: list[int], rates: list[int], probe: int
) -> None:
    """Any schedule of card-fee changes, any day: the rate in force is the last change begun
    on or before that day, or version 0's before the first (60 examples, ~0.1 s)."""
    policy = PolicyHistory.start(NOW)
    first_open = NOW.date()
    for offset, rate in zip(starts, rates, strict=False):
        policy.schedule(
            {"card_fee_rate": f"0.{rate:03d}"}, first_open + timedelta(days=offset), BASE, NOW
        )
    day = first_open + timedelta(days=probe)
    begun = [(offset, rate) for offset, rate in zip(starts, rates, strict=False) if offset <= probe]
    in_force = policy.policy_on(day, BASE)
    if begun:
        assert in_force.card_fee_rate == Decimal(f"0.{begun[-1][1]:03d}")
        assert in_force.version == len(begun)
    else:
        assert in_force == BASE
