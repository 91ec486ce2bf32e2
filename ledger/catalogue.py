"""The catalogue of products on sale, read from a TOML file."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from domain.money import Money
from domain.pricing import Catalogue, PriceUnit, Product

DEFAULT = "catalogue.toml"


class CatalogueError(Exception):
    """The catalogue file is missing or malformed; the message names the product and field."""


def load_catalogue(path: Path | None = None) -> Catalogue:
    """The products in `path`, or in the catalogue that ships with Ledgerline."""
    try:
        text = path.read_text(encoding="utf-8") if path else _default_text()
        data = tomllib.loads(text)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise CatalogueError(f"Cannot read the catalogue {path or DEFAULT}: {error}") from None
    return Catalogue.of(*(_products(data)))


def _default_text() -> str:
    return resources.files("ledger").joinpath(DEFAULT).read_text(encoding="utf-8")


def _products(data: dict[str, Any]) -> list[Product]:
    products = []
    for entry in data.get("product", []):
        code = entry.get("code")
        try:
            unit = PriceUnit(entry["unit"])
            name = str(entry["name"])
            prices = entry["prices"]
            for currency, amount in prices.items():
                products.append(Product(str(code), name, unit, Money.of(str(amount), currency)))
        except Exception as error:
            raise CatalogueError(f"Product {code!r} in the catalogue is invalid: {error}") from None
    return products
