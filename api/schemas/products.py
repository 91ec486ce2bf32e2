"""Request and response schemas of `/v1/products` and `/v1/partners/{id}/price-overrides`:
the catalogue as history (issue 13)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import FreeText, MoneyModel, PositiveMoney
from domain.catalogue import PriceChangeScope
from domain.money import Money
from domain.pricing import PriceUnit
from domain.values import TEXT_MAX_LENGTH
from projections.catalogue import OverrideView, PriceView, ProductView

CODE_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"
"""A product code, as domain/catalogue.py's PRODUCT_CODE."""
Language = Literal["en", "es", "ru", "pl"]


class CreateProductRequest(BaseModel):
    """Add a product to the catalogue, with no price yet."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "code": "pos-location",
                    "names": {"en": "POS integration", "es": "Integración TPV"},
                    "unit": "per_location",
                }
            ]
        },
    )

    code: str = Field(pattern=CODE_PATTERN, description="The product's code, its identity.")
    names: dict[Language, FreeText] = Field(
        min_length=1, description="The product's name per language; English required."
    )
    unit: PriceUnit = Field(description="What its price is per.")


class AddPriceRequest(BaseModel):
    """Add a price in one currency from a business date; a later one supersedes the one before
    from its date."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "amount": {"amount_minor": 5500, "currency": "USD"},
                    "effective_from": "2027-03-01",
                    "applies_to_existing": "next_renewal",
                }
            ]
        },
    )

    amount: PositiveMoney = Field(description="Per month (per lead for per-lead products).")
    effective_from: date = Field(
        description="The first business date it is in force: a line's period starting on or "
        "after it pays it; a change of an existing price from tomorrow anywhere at the soonest."
    )
    applies_to_existing: PriceChangeScope = Field(
        default=PriceChangeScope.NEXT_RENEWAL,
        description="`next_renewal`: every line from its next period on or after the date; "
        "`never`: lines sold before keep their price (grandfathered).",
    )


class PriceOverrideRequest(BaseModel):
    """Set a partner's own unit price, or a percentage off, for a product from a date."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "product_code": "pos-location",
                    "effective_from": "2027-03-01",
                    "percent_off": "0.1",
                }
            ]
        },
    )

    product_code: str = Field(pattern=CODE_PATTERN)
    effective_from: date
    unit_price: PositiveMoney | None = Field(
        default=None, description="The partner's unit price, in its currency."
    )
    percent_off: Decimal | None = Field(
        default=None,
        ge=0,
        lt=1,
        max_digits=6,
        description="A rate off the catalogue price (0.1 is 10 %); 0 ends an earlier override.",
    )


class PriceModel(BaseModel):
    """One price version of a product."""

    price_version: str = Field(description="`code@currency/vN`, as invoice lines name it.")
    version: int
    amount: MoneyModel
    effective_from: date
    applies_to_existing: PriceChangeScope

    @classmethod
    def of(cls, price: PriceView) -> PriceModel:
        return cls(
            price_version=price.label,
            version=price.version,
            amount=MoneyModel.of(price.amount),
            effective_from=price.effective_from,
            applies_to_existing=PriceChangeScope(price.applies_to_existing),
        )


class ProductResponse(BaseModel):
    """A product with its prices as history, oldest first per currency."""

    code: str
    names: dict[str, str] = Field(description="Its name per language.")
    unit: PriceUnit
    retired_on: date | None = Field(description="Set when it is no longer sold.")
    prices: list[PriceModel]

    @classmethod
    def of(cls, product: ProductView) -> ProductResponse:
        return cls(
            code=product.code,
            names={key: str(value)[:TEXT_MAX_LENGTH] for key, value in product.names.items()},
            unit=PriceUnit(product.unit),
            retired_on=product.retired_on,
            prices=[PriceModel.of(price) for price in product.prices],
        )


class ProductList(BaseModel):
    """Every product in the catalogue, by code."""

    items: list[ProductResponse]


class PriceOverrideModel(BaseModel):
    """A partner's override of a product's price, from a date."""

    product_code: str
    currency: str
    effective_from: date
    unit_price: MoneyModel | None
    percent_off: Decimal | None

    @classmethod
    def of(cls, override: OverrideView) -> PriceOverrideModel:
        unit_price: Money | None = override.unit_price
        return cls(
            product_code=override.code,
            currency=override.currency,
            effective_from=override.effective_from,
            unit_price=None if unit_price is None else MoneyModel.of(unit_price),
            percent_off=override.percent_off,
        )


class PriceOverrideList(BaseModel):
    """A partner's overrides, by product, currency and date."""

    partner_id: UUID
    items: list[PriceOverrideModel]
