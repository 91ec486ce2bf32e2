"""Commands on the catalogue (issue 13): products, their prices as history, and partners'
overrides. Only the vendor changes the catalogue: the edge admits admin keys alone to these
commands (api/routers/products.py), as it does for the vendor's bonus credits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date
from decimal import Decimal
from typing import Any
from uuid import UUID

from domain.catalogue import (
    CATALOGUE_EPOCH,
    CatalogueProduct,
    PriceChangeScope,
    PriceVersion,
    product_id,
)
from domain.errors import InvalidValue, ProductExists, ProductNotFound
from domain.money import Money
from domain.partner_account import PartnerAccount
from domain.price_overrides import PartnerPrices, PriceOverride, partner_prices_id
from domain.pricing import PriceUnit, Product
from ledger.commands.base import LedgerCommand, context, owned_partner
from ledger.unit_of_work import UnitOfWork

Answer = tuple[UUID | None, dict[str, Any]]


def catalogue_product(uow: UnitOfWork, code: str) -> CatalogueProduct:
    """The product of this code, or `product_not_found`."""
    found = uow.get(CatalogueProduct, product_id(code))
    if found is None:
        raise ProductNotFound.of(code)
    return found


def sold_product(
    uow: UnitOfWork, code: str, account: PartnerAccount, on: date
) -> tuple[Product, int | None]:
    """The product as a new line of `account` buys it on `on`, and the version it is sold at.

    During the transition a product not yet in the store is sold from the catalogue file the
    process started with (`Context.catalogue`), unversioned; the first start imports that
    file (api/runtime.py), so this is only met by a store kept from before issue 13.
    """
    product = uow.get(CatalogueProduct, product_id(code))
    if product is None:
        return context(uow).catalogue.product(code, account.currency), None
    sold, price = product.sell(account.currency, on)
    return sold, price.version


def _price_answer(price: PriceVersion) -> dict[str, Any]:
    return {
        "price_version": price.label,
        "version": price.version,
        "effective_from": price.effective_from.isoformat(),
    }


@dataclass(frozen=True, kw_only=True)
class CreateProduct(LedgerCommand):
    """The vendor adds a product to the catalogue, with no price yet."""

    code: str
    names: tuple[tuple[str, str], ...]
    """(language, name) pairs; English required."""
    unit: PriceUnit

    def handle(self, uow: UnitOfWork) -> Answer:
        if uow.get(CatalogueProduct, product_id(self.code)) is not None:
            raise ProductExists(f"Product {self.code!r} is in the catalogue.", product=self.code)
        product = CatalogueProduct.create(
            code=self.code, names=dict(self.names), unit=self.unit, now=uow.now
        )
        uow.add(product)
        return product.id, {"code": product.code}


@dataclass(frozen=True, kw_only=True)
class AddPrice(LedgerCommand):
    """The vendor adds a price in one currency from a business date; a later one supersedes
    the price before it from that day (issue 13)."""

    code: str
    amount: Money
    effective_from: date
    applies_to_existing: PriceChangeScope = PriceChangeScope.NEXT_RENEWAL

    def handle(self, uow: UnitOfWork) -> Answer:
        product = catalogue_product(uow, self.code)
        price = product.add_price(
            amount=self.amount,
            effective_from=self.effective_from,
            applies_to_existing=self.applies_to_existing,
            now=uow.now,
        )
        return product.id, _price_answer(price)


@dataclass(frozen=True, kw_only=True)
class RetireProduct(LedgerCommand):
    """The vendor stops selling a product; lines already sold keep renewing."""

    code: str

    def handle(self, uow: UnitOfWork) -> Answer:
        product = catalogue_product(uow, self.code)
        product.retire(uow.now.astimezone(UTC).date(), uow.now)
        return product.id, {"code": product.code}


@dataclass(frozen=True, kw_only=True)
class SetPriceOverride(LedgerCommand):
    """The vendor sets a partner's own unit price, or a percentage off, for a product in the
    partner's currency from a business date (issue 13)."""

    partner_id: UUID
    code: str
    effective_from: date
    unit_price: Money | None = None
    percent_off: Decimal | None = None

    def handle(self, uow: UnitOfWork) -> Answer:
        account = owned_partner(uow, self.partner_id, self.actor)
        product = catalogue_product(uow, self.code)
        currency = account.currency
        if self.unit_price is not None and self.unit_price.currency != currency:
            raise InvalidValue(f"The partner is billed in {currency}.", field="unit_price_currency")
        if product.price_in_force(currency, date.max) is None:
            raise InvalidValue(
                f"Product {product.code!r} has no {currency} price to override.", field="code"
            )
        prices = uow.get(PartnerPrices, partner_prices_id(account.id))
        if prices is None:
            prices = PartnerPrices.open(account.id, uow.now)
            uow.add(prices)
        override = PriceOverride(
            product_code=product.code,
            currency=currency,
            effective_from=self.effective_from,
            unit_price=self.unit_price,
            percent_off=self.percent_off,
        )
        prices.set_override(override, uow.now)
        return prices.id, {"override": override.label}


@dataclass(frozen=True, slots=True)
class ImportedPrice:
    """One price of a catalogue file: an amount in minor units, from a business date."""

    currency: str
    amount_minor: int
    effective_from: date = CATALOGUE_EPOCH


@dataclass(frozen=True, kw_only=True)
class ImportProduct(LedgerCommand):
    """One product of a catalogue file: created if new, its prices added unless the store has
    each already (same currency, amount and date), so importing a file twice writes nothing."""

    code: str
    names: tuple[tuple[str, str], ...]
    unit: PriceUnit
    prices: tuple[ImportedPrice, ...]

    def handle(self, uow: UnitOfWork) -> Answer:
        product = uow.get(CatalogueProduct, product_id(self.code))
        created = product is None
        if product is None:
            product = CatalogueProduct.create(
                code=self.code, names=dict(self.names), unit=self.unit, now=uow.now
            )
            uow.add(product)
        elif product.unit is not self.unit:
            raise InvalidValue(
                f"Product {self.code!r} is sold {product.unit.value}, not {self.unit.value}.",
                field="unit",
            )
        added: list[str] = []
        for imported in self.prices:
            amount = Money(imported.amount_minor, imported.currency)
            kept = product.prices.get(imported.currency, ())
            if any((p.amount, p.effective_from) == (amount, imported.effective_from) for p in kept):
                continue
            price = product.add_price(
                amount=amount,
                effective_from=imported.effective_from,
                applies_to_existing=PriceChangeScope.NEXT_RENEWAL,
                now=uow.now,
            )
            added.append(price.label)
        return product.id, {"code": product.code, "created": created, "prices_added": added}
