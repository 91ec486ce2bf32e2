"""A partner's own prices: a unit price or a percentage off a product, per currency, from a
business date (issue 13; Otter's partners reduce the unit cost for their clients)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.calendar import DATE_MAX, DATE_MIN
from domain.catalogue import UNIT_PRICE_MAX_MINOR, earliest_change
from domain.errors import (
    AmountNotPositive,
    InvalidValue,
    PriceChangeTooSoon,
    PriceNotLater,
)
from domain.money import Money, apply_rate, require_at_most
from domain.pricing import RATE_MAX, percent
from domain.values import LEDGERLINE_NAMESPACE

OVERRIDES_MAX = 1_000
"""The most overrides a partner keeps (every product, currency and change together): all are
read to price each of its periods, so they stay bounded."""


@dataclass(frozen=True, slots=True)
class PriceOverride:
    """A partner's price for a product in one currency, from a business date: its own unit
    price, or a percentage off the catalogue's (0 % ends an earlier override)."""

    product_code: str
    currency: str
    effective_from: date
    unit_price: Money | None
    percent_off: Decimal | None

    def applied(self, price: Money) -> Money:
        """The partner's unit price, given the catalogue's."""
        if self.unit_price is not None:
            return self.unit_price
        off = self.percent_off or Decimal(0)
        return price - apply_rate(price, off)

    @property
    def label(self) -> str:
        """How an invoice line shows it: `partner price 45.00 USD` or `10 % off`."""
        if self.unit_price is not None:
            return f"partner price {self.unit_price}"
        return f"{percent(self.percent_off or Decimal(0))} % off"


def partner_prices_id(partner_id: UUID) -> UUID:
    """The id of a partner's one price list, derived so it needs no lookup."""
    return uuid5(LEDGERLINE_NAMESPACE, f"partner-prices/{partner_id}")


def override_for(
    overrides: Sequence[PriceOverride], code: str, currency: str, starts_on: date
) -> PriceOverride | None:
    """The override in force for a period starting `starts_on`, if any (0 % off is none)."""
    in_force = [
        override
        for override in overrides
        if override.product_code == code
        and override.currency == currency
        and override.effective_from <= starts_on
    ]
    found = max(in_force, key=lambda override: override.effective_from, default=None)
    if found is not None and found.unit_price is None and not found.percent_off:
        return None
    return found


class PartnerPrices(Aggregate):
    """A partner's overrides of catalogue prices, as history."""

    class Event(Aggregate.Event):
        """Every event names the partner it belongs to (the future partition key)."""

        partner_id: UUID

    class Opened(Event, Aggregate.Created):
        """The partner's price list was opened, empty, when its first override was set."""

    class OverrideSet(Event):
        """The vendor set a partner's price for a product from a date."""

        override: PriceOverride

        def apply(self, prices: PartnerPrices) -> None:
            prices.overrides = (*prices.overrides, self.override)

    def __init__(self, partner_id: UUID) -> None:
        self.partner_id = partner_id
        self.overrides: tuple[PriceOverride, ...] = ()

    @classmethod
    def open(cls, partner_id: UUID, now: datetime) -> PartnerPrices:
        """A partner's empty price list."""
        return cls._create(
            cls.Opened, id=partner_prices_id(partner_id), partner_id=partner_id, timestamp=now
        )

    def set_override(self, override: PriceOverride, now: datetime) -> None:
        """Add an override, in force from its date until the next one of its product and
        currency; never before `earliest_change(now)`, never before the last one."""
        if (override.unit_price is None) == (override.percent_off is None):
            raise InvalidValue(
                "An override is a unit price or a percentage off, not both.", field="unit_price"
            )
        if override.unit_price is not None:
            if not override.unit_price.is_positive():
                raise AmountNotPositive("A price is above zero.", field="unit_price_minor")
            require_at_most(
                override.unit_price, UNIT_PRICE_MAX_MINOR, "unit_price_minor", "A unit price"
            )
        off = override.percent_off
        if off is not None and (not isinstance(off, Decimal) or not Decimal(0) <= off < RATE_MAX):
            raise InvalidValue("percent_off is a rate in [0, 1).", field="percent_off")
        if not DATE_MIN <= override.effective_from <= DATE_MAX:
            raise InvalidValue(
                f"effective_from must be between {DATE_MIN} and {DATE_MAX}.",
                field="effective_from",
            )
        earlier = [
            kept.effective_from
            for kept in self.overrides
            if (kept.product_code, kept.currency) == (override.product_code, override.currency)
        ]
        if earlier and override.effective_from <= max(earlier):
            raise PriceNotLater(
                f"A new override takes effect after {max(earlier)}.",
                latest_effective_from=max(earlier).isoformat(),
            )
        earliest = earliest_change(now)
        if override.effective_from < earliest:
            raise PriceChangeTooSoon(
                f"An override may take effect from {earliest}.", earliest=earliest.isoformat()
            )
        if len(self.overrides) >= OVERRIDES_MAX:
            raise InvalidValue(
                f"A partner keeps at most {OVERRIDES_MAX} overrides.", field="effective_from"
            )
        self.trigger_event(
            self.OverrideSet, partner_id=self.partner_id, override=override, timestamp=now
        )

    def in_force(self, code: str, currency: str, starts_on: date) -> PriceOverride | None:
        return override_for(self.overrides, code, currency, starts_on)
