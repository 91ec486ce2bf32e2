"""The catalogue as read models (issue 13): products, their price versions, and partners'
overrides, for `GET /v1/products…` and `GET /v1/partners/{id}/price-overrides`.

Each row is a fact as it was added; nothing is updated but a product's retirement, so the
rows are the history an auditor reads (which version was in force from which day).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg

from domain.money import Money
from projections.base import Projection


@dataclass(frozen=True)
class PriceView:
    """One price version of a product."""

    code: str
    currency: str
    version: int
    amount: Money
    effective_from: date
    applies_to_existing: str

    @property
    def label(self) -> str:
        return f"{self.code}@{self.currency}/v{self.version}"


@dataclass(frozen=True)
class ProductView:
    """A product as the read model shows it, with its prices as history."""

    code: str
    names: dict[str, str]
    unit: str
    retired_on: date | None
    prices: list[PriceView]


@dataclass(frozen=True)
class OverrideView:
    """A partner's override of a product's price, from a date."""

    partner_id: UUID
    code: str
    currency: str
    effective_from: date
    unit_price: Money | None
    percent_off: Decimal | None


class CatalogueModel(Projection):
    """Every product, price version and partner override, as added."""

    name = "catalogue"
    reads = (
        "CatalogueProduct.Created",
        "CatalogueProduct.PriceAdded",
        "CatalogueProduct.Retired",
        "PartnerPrices.OverrideSet",
    )
    tables = ("products", "product_prices", "price_overrides")
    ddl = (
        """
        CREATE TABLE {schema}.products (
            code text PRIMARY KEY,
            product_id uuid NOT NULL UNIQUE,
            names jsonb NOT NULL,
            unit text NOT NULL,
            retired_on date,
            position bigint NOT NULL
        )
        """,
        """
        CREATE TABLE {schema}.product_prices (
            code text NOT NULL,
            currency char(3) NOT NULL,
            version integer NOT NULL,
            amount_minor bigint NOT NULL,
            effective_from date NOT NULL,
            applies_to_existing text NOT NULL,
            position bigint NOT NULL,
            PRIMARY KEY (code, currency, version)
        )
        """,
        """
        CREATE TABLE {schema}.price_overrides (
            partner_id uuid NOT NULL,
            code text NOT NULL,
            currency char(3) NOT NULL,
            effective_from date NOT NULL,
            unit_price_minor bigint,
            percent_off numeric,
            position bigint NOT NULL,
            PRIMARY KEY (partner_id, code, currency, effective_from)
        )
        """,
    )
    statements = (
        """
        INSERT INTO {schema}.products (code, product_id, names, unit, position)
        SELECT event ->> 'code', originator_id, event -> 'names', ll_text(event -> 'unit'),
               position
        FROM batch_events
        WHERE topic = {t_CatalogueProduct_Created} AND position > %(lo)s
        """,
        """
        INSERT INTO {schema}.product_prices (
            code, currency, version, amount_minor, effective_from, applies_to_existing, position)
        SELECT p ->> 'product_code', p ->> 'currency', (p ->> 'version')::integer,
               ll_minor(p -> 'amount'), ll_date(p -> 'effective_from'),
               ll_text(p -> 'applies_to_existing'), position
        FROM (SELECT ll_fields(event -> 'price') AS p, position FROM batch_events
              WHERE topic = {t_CatalogueProduct_PriceAdded} AND position > %(lo)s) AS added
        """,
        """
        UPDATE {schema}.products p SET retired_on = ll_date(b.event -> 'retired_on'),
               position = b.position
        FROM batch_events b
        WHERE b.topic = {t_CatalogueProduct_Retired} AND b.position > %(lo)s
          AND p.product_id = b.originator_id
        """,
        """
        INSERT INTO {schema}.price_overrides (
            partner_id, code, currency, effective_from, unit_price_minor, percent_off, position)
        SELECT partner_id, o ->> 'product_code', o ->> 'currency', ll_date(o -> 'effective_from'),
               ll_minor(o -> 'unit_price'), (ll_text(o -> 'percent_off'))::numeric, position
        FROM (SELECT ll_uuid(event -> 'partner_id') AS partner_id,
                     ll_fields(event -> 'override') AS o, position FROM batch_events
              WHERE topic = {t_PartnerPrices_OverrideSet} AND position > %(lo)s) AS set
        """,
    )

    @staticmethod
    def products(conn: psycopg.Connection[Any], code: str | None = None) -> list[ProductView]:
        """Every product (or the one with `code`), by code, each with its prices."""
        rows = conn.execute(
            "SELECT code, names, unit, retired_on FROM products "
            "WHERE %(code)s::text IS NULL OR code = %(code)s ORDER BY code",
            {"code": code},
        ).fetchall()
        prices = conn.execute(
            "SELECT code, currency, version, amount_minor, effective_from, applies_to_existing "
            "FROM product_prices WHERE %(code)s::text IS NULL OR code = %(code)s "
            "ORDER BY code, currency, version",
            {"code": code},
        ).fetchall()
        by_code: dict[str, list[PriceView]] = {}
        for price_code, currency, version, minor, effective_from, scope in prices:
            by_code.setdefault(price_code, []).append(
                PriceView(
                    price_code, currency, version, Money(minor, currency), effective_from, scope
                )
            )
        return [
            ProductView(row_code, dict(names), unit, retired_on, by_code.get(row_code, []))
            for row_code, names, unit, retired_on in rows
        ]

    @staticmethod
    def overrides(conn: psycopg.Connection[Any], partner_id: UUID) -> list[OverrideView]:
        """A partner's overrides, by product, currency and date."""
        rows = conn.execute(
            "SELECT partner_id, code, currency, effective_from, unit_price_minor, percent_off "
            "FROM price_overrides WHERE partner_id = %s ORDER BY code, currency, effective_from",
            (partner_id,),
        ).fetchall()
        return [
            OverrideView(
                partner,
                code,
                currency,
                effective_from,
                None if minor is None else Money(minor, currency),
                percent_off,
            )
            for partner, code, currency, effective_from, minor, percent_off in rows
        ]
