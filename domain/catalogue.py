"""The catalogue as history: a product, its prices per currency with effective dates, and the
rule that says which price a line's period pays (issue 13).

A price is never edited: a change is a new price version with a later effective date. A line
records the version it was sold at; each of its periods pays the price in force on the
period's first day (a business date, R-X7), so a change never applies in the middle of a paid
period. A change that does not apply to existing lines (grandfathered) applies only to lines
sold at it or later.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.calendar import DATE_MAX, DATE_MIN
from domain.errors import (
    AmountNotPositive,
    InvalidValue,
    PriceChangeTooSoon,
    PriceNotLater,
    ProductRetired,
    UnknownProduct,
)
from domain.money import Money, require_at_most
from domain.pricing import PriceUnit, Product
from domain.values import LEDGERLINE_NAMESPACE, clean_text

LANGUAGES = ("en", "es", "ru", "pl")
"""The languages partners' documents are printed in; English is required (the fallback)."""
PRODUCT_CODE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
"""A product code: lower-case letters, digits and inner hyphens, at most 64 characters (it is
part of URLs and of printed price versions, `pos-location@USD/v2`)."""
UNIT_PRICE_MAX_MINOR = 4 * 10**9
"""The most a unit price may be: 12 months of it for 10,000 locations (LOCATIONS_MAX) stays
within one invoice's bound (INVOICE_TOTAL_MAX_MINOR, 5 * 10^14). 40 million USD a month per
unit is far above any real price; a typo of extra zeros is refused before it bills."""
PRICE_VERSIONS_MAX = 1_000
"""The most price versions a product keeps per currency (a change a week for 19 years): the
whole history is read to price each period, so it stays bounded."""
CATALOGUE_EPOCH = DATE_MIN
"""Where prices imported without a date take effect: before any line Ledgerline bills."""
LATEST_UTC_OFFSET = timedelta(hours=14)
"""The first place where a day begins (UTC+14, Kiribati): a change may take effect from the
day after today there, a day no partner's calendar has reached, so no period already billed
would have paid another price (R-X7)."""


class PriceChangeScope(StrEnum):
    """Which lines a new price applies to."""

    NEXT_RENEWAL = "next_renewal"
    """Every line, from its first period that starts on or after the effective date."""
    NEVER = "never"
    """Only lines sold at this price or later; lines sold before keep theirs (grandfathered)."""


@dataclass(frozen=True, slots=True)
class PriceVersion:
    """One price of a product in one currency, in force from a business date."""

    product_code: str
    currency: str
    version: int
    """1, 2, … per product and currency, in the order the prices were added."""
    amount: Money
    """Per month for per-location and per-line products; per lead for per-lead ones."""
    effective_from: date
    applies_to_existing: PriceChangeScope

    @property
    def label(self) -> str:
        """How an invoice line and an auditor name it: `pos-location@USD/v2`."""
        return f"{self.product_code}@{self.currency}/v{self.version}"


def product_id(code: str) -> UUID:
    """The id of a product's aggregate, derived from its code (it needs no lookup)."""
    return uuid5(LEDGERLINE_NAMESPACE, f"product/{code}")


def earliest_change(now: datetime) -> date:
    """The first business date a new price or override may take effect (`LATEST_UTC_OFFSET`)."""
    return (now.astimezone(UTC) + LATEST_UTC_OFFSET).date() + timedelta(days=1)


def clean_code(code: str) -> str:
    """A product code as the catalogue keeps it, or `invalid_value`."""
    if not PRODUCT_CODE.fullmatch(code):
        raise InvalidValue(
            "A product code is 1-64 lower-case letters, digits and inner hyphens.", field="code"
        )
    return code


def clean_names(names: Mapping[str, str]) -> dict[str, str]:
    """A product's names by language: English required, only the languages we print."""
    unknown = sorted(set(names) - set(LANGUAGES))
    if unknown:
        raise InvalidValue(
            f"Names are in {', '.join(LANGUAGES)}; not {', '.join(unknown)}.", field="names"
        )
    if "en" not in names:
        raise InvalidValue("A product needs its English name.", field="names")
    return {
        language: clean_text("names", names[language])
        for language in LANGUAGES
        if language in names
    }


def price_for_period(
    versions: Sequence[PriceVersion], sold_version: int, starts_on: date
) -> PriceVersion | None:
    """The price a period starting `starts_on` pays, for a line sold at `sold_version`.

    The latest version in force that day, leaving out grandfathered changes added after the
    line was sold. None when no such version is in force yet (the caller keeps the sold one).
    """
    applicable = [
        price
        for price in versions
        if price.effective_from <= starts_on
        and (
            price.version <= sold_version
            or price.applies_to_existing is PriceChangeScope.NEXT_RENEWAL
        )
    ]
    return max(applicable, key=lambda price: price.effective_from, default=None)


class CatalogueProduct(Aggregate):
    """A product the vendor sells, with its names, its unit and its prices as history."""

    class Event(Aggregate.Event):
        """An event of a product of the catalogue."""

    class Created(Event, Aggregate.Created):
        """The vendor added a product to the catalogue (issue 13)."""

        code: str
        names: dict[str, str]
        unit: PriceUnit

    class PriceAdded(Event):
        """A price of the product in one currency, in force from its effective date; the one
        before it in that currency is superseded from that day."""

        price: PriceVersion

        def apply(self, product: CatalogueProduct) -> None:
            history = product.prices.get(self.price.currency, ())
            product.prices[self.price.currency] = (*history, self.price)

    class Retired(Event):
        """The product is no longer sold; lines already sold keep renewing."""

        retired_on: date

        def apply(self, product: CatalogueProduct) -> None:
            product.retired_on = self.retired_on

    def __init__(self, code: str, names: dict[str, str], unit: PriceUnit) -> None:
        self.code = code
        self.names = names
        self.unit = unit
        self.prices: dict[str, tuple[PriceVersion, ...]] = {}
        self.retired_on: date | None = None

    @classmethod
    def create(
        cls, *, code: str, names: Mapping[str, str], unit: PriceUnit, now: datetime
    ) -> CatalogueProduct:
        """A new product, with no price yet."""
        code = clean_code(code)
        return cls._create(
            cls.Created,
            id=product_id(code),
            code=code,
            names=clean_names(names),
            unit=PriceUnit(unit),
            timestamp=now,
        )

    @property
    def name(self) -> str:
        """The English name, printed on invoices."""
        return self.names["en"]

    @property
    def retired(self) -> bool:
        return self.retired_on is not None

    def add_price(
        self,
        *,
        amount: Money,
        effective_from: date,
        applies_to_existing: PriceChangeScope,
        now: datetime,
    ) -> PriceVersion:
        """Add a price in one currency; a later one supersedes the one before from its date.

        The first price of a currency may take effect on any day (no line was sold in it);
        a later one only after the last one and no sooner than `earliest_change(now)`.
        """
        if not amount.is_positive():
            raise AmountNotPositive("A price is above zero.", field="amount_minor")
        require_at_most(amount, UNIT_PRICE_MAX_MINOR, "amount_minor", "A unit price")
        if not DATE_MIN <= effective_from <= DATE_MAX:
            raise InvalidValue(
                f"effective_from must be between {DATE_MIN} and {DATE_MAX}.",
                field="effective_from",
            )
        history = self.prices.get(amount.currency, ())
        if history:
            latest = history[-1].effective_from
            if effective_from <= latest:
                raise PriceNotLater(
                    f"A new {amount.currency} price takes effect after {latest}.",
                    latest_effective_from=latest.isoformat(),
                )
            earliest = earliest_change(now)
            if effective_from < earliest:
                raise PriceChangeTooSoon(
                    f"A price change may take effect from {earliest}.",
                    earliest=earliest.isoformat(),
                )
        if len(history) >= PRICE_VERSIONS_MAX:
            raise InvalidValue(
                f"A product keeps at most {PRICE_VERSIONS_MAX} prices per currency.",
                field="effective_from",
            )
        price = PriceVersion(
            product_code=self.code,
            currency=amount.currency,
            version=len(history) + 1,
            amount=amount,
            effective_from=effective_from,
            applies_to_existing=PriceChangeScope(applies_to_existing),
        )
        self.trigger_event(self.PriceAdded, price=price, timestamp=now)
        return price

    def retire(self, on: date, now: datetime) -> None:
        """Stop selling the product; lines already sold keep renewing."""
        if self.retired_on is not None:
            raise ProductRetired(
                f"Product {self.code!r} was retired on {self.retired_on}.", product=self.code
            )
        self.trigger_event(self.Retired, retired_on=on, timestamp=now)

    def price_in_force(self, currency: str, on: date) -> PriceVersion | None:
        """The price a new sale on `on` pays in `currency`, if the product has one then."""
        in_force = [price for price in self.prices.get(currency, ()) if price.effective_from <= on]
        return in_force[-1] if in_force else None

    def sell(self, currency: str, on: date) -> tuple[Product, PriceVersion]:
        """The product as a new line buys it on `on`, and the price version it is sold at."""
        if self.retired:
            raise ProductRetired(
                f"Product {self.code!r} is retired: no new line may be sold.", product=self.code
            )
        price = self.price_in_force(currency, on)
        if price is None:
            raise UnknownProduct(
                f"No product {self.code!r} in {currency} in the catalogue.",
                product=self.code,
                currency=currency,
            )
        return Product(self.code, self.name, self.unit, price.amount), price

    def price_for_line(
        self, currency: str, sold_version: int, starts_on: date
    ) -> PriceVersion | None:
        """The price a line sold at `sold_version` pays for a period starting `starts_on`."""
        return price_for_period(self.prices.get(currency, ()), sold_version, starts_on)
