"""The vendor's profile (issue 17): the version in force on a document's date, versions that
only move forward, tax rates in [0, 1), the tax a tax-inclusive amount contains rounded once
(R-X1), and the rate and term an old line's sentence states recovered exactly (R-C3, R-O7)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import MappingProxyType
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.calendar import BillingPeriod, Term
from domain.errors import InvalidValue
from domain.money import Money
from domain.pricing import (
    BillingPolicy,
    card_fee_line,
    duration_discount_line,
    with_recorded_facts,
)
from domain.pricing import percent as percent_text
from domain.values import InvoiceLine, InvoiceLineKind
from domain.vendor import VendorProfile, VendorProfiles, included_tax


def profile(version: int, effective_from: date, **rates: str) -> VendorProfile:
    return VendorProfile(
        version=version,
        effective_from=effective_from,
        legal_name="Ledgerline Software Sp. z o.o.",
        address=(f"Street {version}",),
        tax_ids=(),
        bank=(),
        signatory="",
        footer="",
        tax_rates=MappingProxyType({k: Decimal(v) for k, v in rates.items()}),
    )


def test_issue_17_a_document_gets_the_version_in_force_on_its_date() -> None:
    profiles = VendorProfiles(
        (profile(1, date(2026, 1, 1)), profile(2, date(2027, 1, 1)), profile(3, date(2027, 7, 1)))
    )
    assert [profiles.on(day).version for day in (date(2025, 6, 1), date(2026, 12, 31))] == [1, 1]
    assert [profiles.on(day).version for day in (date(2027, 1, 1), date(2027, 6, 30))] == [2, 2]
    assert profiles.on(date(2030, 1, 1)).version == 3


@pytest.mark.parametrize(
    "versions",
    [
        (),
        (profile(1, date(2027, 1, 1)), profile(2, date(2026, 1, 1))),  # a later one earlier
        (profile(1, date(2026, 1, 1)), profile(2, date(2026, 1, 1))),  # two the same day
        (profile(1, date(2026, 1, 1)), profile(3, date(2027, 1, 1))),  # a number skipped
    ],
)
def test_issue_17_versions_are_numbered_in_order_with_later_dates(
    versions: tuple[VendorProfile, ...],
) -> None:
    with pytest.raises(InvalidValue):
        VendorProfiles(versions)


@pytest.mark.parametrize("rate", ["1", "-0.01", "1.5"])
def test_issue_17_a_tax_rate_is_a_fraction_below_one(rate: str) -> None:
    with pytest.raises(InvalidValue):
        profile(1, date(2026, 1, 1), PLN=rate)


def test_issue_17_a_currency_without_a_rate_has_none() -> None:
    vendor = profile(1, date(2026, 1, 1), PLN="0.23")
    assert (vendor.tax_rate("PLN"), vendor.tax_rate("USD")) == (Decimal("0.23"), Decimal(0))


@given(
    gross=st.integers(min_value=-(10**12), max_value=10**12),
    percent=st.integers(min_value=0, max_value=99),
)
def test_r_x1_the_tax_inside_an_amount_is_its_rates_share_rounded_once(
    gross: int, percent: int
) -> None:
    rate = Decimal(percent) / 100
    tax = included_tax(Money(gross, "PLN"), rate)
    net = gross - tax.amount_minor
    # tax / gross = rate / (1 + rate), exactly up to the one rounding of half a minor unit
    assert abs(tax.amount_minor * (1 + rate) - gross * rate) <= (1 + rate) / 2
    assert abs(net) <= abs(gross)
    if percent == 0:
        assert tax == Money(0, "PLN")


def test_issue_17_the_polish_vat_inside_a_gross_amount() -> None:
    assert included_tax(Money(123_00, "PLN"), Decimal("0.23")) == Money(23_00, "PLN")
    assert included_tax(Money(4_298_40, "PLN"), Decimal("0.23")) == Money(803_77, "PLN")


PERIOD = BillingPeriod(date(2026, 1, 31), date(2027, 1, 31))


@given(
    percent=st.decimals(min_value=Decimal("0.1"), max_value=Decimal("99.9"), places=1),
    term=st.sampled_from([Term.TWELVE_MONTHS, Term.MONTHLY]),
)
def test_r_c3_r_o7_an_old_lines_sentence_gives_back_the_rate_and_term_it_was_made_from(
    percent: Decimal, term: Term
) -> None:
    """A line made before issue 17 stated its rate and term only in its sentence; the
    upcasters recover them exactly, for any rate the policy allows."""
    rate = percent / 100
    policy = BillingPolicy(card_fee_rate=rate, duration_discounts={term: rate})
    product = InvoiceLine(InvoiceLineKind.PRODUCT, Money(1_000_00, "USD"), description="Plan")
    made = [
        duration_discount_line([product], term, policy, line_id=UUID(int=1), period=PERIOD),
        card_fee_line(Money(1_000_00, "USD"), policy),
    ]
    for line in made:
        assert line is not None
        sentence = OLD_SENTENCES[line.kind].format(months=term.months, rate=percent_text(rate))
        old = InvoiceLine(line.kind, line.amount, description=sentence, period=line.period)
        assert old.rate is None
        recovered = with_recorded_facts(old)
        assert (recovered.rate, recovered.term_months) == (line.rate, line.term_months)
        assert str(recovered.rate) == str(line.rate)  # the same stored text, too


OLD_SENTENCES = {
    InvoiceLineKind.DISCOUNT: "{months}-month discount ({rate} %)",
    InvoiceLineKind.CARD_FEE: "Card processing fee ({rate} %)",
}
"""The sentences domain/pricing.py wrote into discount and card-fee lines before issue 17."""


def test_issue_17_a_line_whose_sentence_states_no_rate_keeps_its_description() -> None:
    odd = InvoiceLine(InvoiceLineKind.DISCOUNT, Money(-500, "USD"), description="Goodwill discount")
    assert with_recorded_facts(odd) == odd
