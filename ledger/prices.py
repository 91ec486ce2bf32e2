"""Which price a line pays for a period: the catalogue's version in force on the period's first
day, and the partner's override in force then (issue 13), read through the unit of work."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from domain.catalogue import CatalogueProduct, product_id
from domain.money import Money
from domain.price_overrides import PartnerPrices, partner_prices_id
from domain.subscription_line import SubscriptionLine
from domain.values import InvoiceLine
from ledger.unit_of_work import UnitOfWork

IMPORTED_VERSION = 1
"""The version a line sold before price versions counts as sold at: the first import's. Such
a line keeps the price it recorded while that version is in force (a catalogue file changed
between restarts did not reprice lines sold before); a later change that applies to existing
lines reaches it at its next renewal, a grandfathered one does not."""


@dataclass(frozen=True, slots=True)
class LinePrice:
    """The unit price a line pays for a period, and where it comes from."""

    amount: Money
    price_version: str | None
    """The catalogue version (`pos-location@USD/v2`), None if the product is not in the store."""
    price_override: str | None
    """The partner's override applied, if any (`10 % off`)."""


def line_price(uow: UnitOfWork, subscription: SubscriptionLine, starts_on: date) -> LinePrice:
    """The unit price of `subscription` for a period (or a lead) starting `starts_on`.

    A line whose product is not in the store (a history from before the catalogue was one)
    keeps the price it was sold at, unversioned.
    """
    currency = subscription.unit_price.currency
    amount, label = subscription.unit_price, None
    product = uow.get(CatalogueProduct, product_id(subscription.product_code))
    if product is not None:
        sold = subscription.price_version
        price = product.price_for_line(
            currency, IMPORTED_VERSION if sold is None else sold, starts_on
        )
        if price is not None and not (sold is None and price.version <= IMPORTED_VERSION):
            amount, label = price.amount, price.label
    prices = uow.get(PartnerPrices, partner_prices_id(subscription.partner_id))
    override = prices.in_force(subscription.product_code, currency, starts_on) if prices else None
    if override is None:
        return LinePrice(amount, label, None)
    return LinePrice(override.applied(amount), label, override.label)


def product_names(uow: UnitOfWork, lines: Iterable[InvoiceLine]) -> dict[str, dict[str, str]]:
    """The catalogue's names by language of the products `lines` charge for, by code, for an
    e-mail to word them (issue 17); a product not in the store is left out (named by code)."""
    names: dict[str, dict[str, str]] = {}
    for code in {line.product_code for line in lines if line.product_code is not None}:
        product = uow.get(CatalogueProduct, product_id(code))
        if product is not None:
            names[code] = dict(product.names)
    return names
