"""The vendor's own profile: who issues every document, where it is, its tax ids, its bank
details and its tax rates, versioned by the date each version takes effect (issue 17).

A document prints the version in force on its own date (an invoice's issue date, a closing
document's date), so a move or a new bank account never rewrites a document issued before it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType

from domain.errors import InvalidValue
from domain.money import Money, apply_rate

TAX_RATE_MAX = Decimal(1)
"""A tax rate is a fraction of the net amount in [0, 1): no tax anywhere is 100 % or more."""


@dataclass(frozen=True)
class VendorProfile:
    """One version of the vendor's details, in force from `effective_from`."""

    version: int
    effective_from: date
    legal_name: str
    address: tuple[str, ...]
    """Postal address, one line each, the country last."""
    tax_ids: tuple[tuple[str, str], ...]
    """(what, value) pairs as printed: ("VAT", "PL5260001246"), ("ИНН", "7701234567")."""
    bank: tuple[tuple[str, str], ...]
    """(what, value) pairs for bank-transfer payers: bank, IBAN or account, BIC/SWIFT."""
    signatory: str
    """Who signs closing documents for the vendor (name and title)."""
    footer: str
    tax_rates: Mapping[str, Decimal] = field(default_factory=lambda: MappingProxyType({}))
    """Tax rate by currency, included in the prices; a currency not named has 0 %."""

    def __post_init__(self) -> None:
        if not self.legal_name.strip() or not self.address:
            raise InvalidValue(
                "A vendor profile needs a legal name and an address.", field="vendor"
            )
        for currency, rate in self.tax_rates.items():
            if not isinstance(rate, Decimal) or not Decimal(0) <= rate < TAX_RATE_MAX:
                raise InvalidValue(
                    f"The tax rate for {currency} must be a Decimal in [0, 1), not {rate!r}.",
                    field="tax_rates",
                )

    def tax_rate(self, currency: str) -> Decimal:
        """The rate of the tax included in prices in `currency`: 0 where none is named."""
        return self.tax_rates.get(currency, Decimal(0))


@dataclass(frozen=True)
class VendorProfiles:
    """Every version of the vendor's profile, oldest first."""

    versions: tuple[VendorProfile, ...]

    def __post_init__(self) -> None:
        if not self.versions:
            raise InvalidValue("The vendor profile has no version.", field="vendor")
        dates = [profile.effective_from for profile in self.versions]
        numbers = [profile.version for profile in self.versions]
        if dates != sorted(set(dates)) or numbers != list(range(1, len(numbers) + 1)):
            raise InvalidValue(
                "Vendor profile versions are numbered 1, 2, … with later dates each.",
                field="vendor",
            )

    def on(self, day: date) -> VendorProfile:
        """The version in force on `day`; the first one for a day before any took effect."""
        in_force = self.versions[0]
        for profile in self.versions:
            if profile.effective_from <= day:
                in_force = profile
        return in_force


def included_tax(gross: Money, rate: Decimal) -> Money:
    """The tax contained in a tax-inclusive amount: gross * rate / (1 + rate), rounded once
    half-up (R-X1); zero at a 0 % rate."""
    if rate == 0:
        return Money.zero(gross.currency)
    exact = Fraction(rate) / (1 + Fraction(rate))
    return apply_rate(gross, exact)
