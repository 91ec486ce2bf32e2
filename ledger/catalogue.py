"""The catalogue of products on sale, read from a TOML file: imported into the store as
events (`ledgerline catalogue import FILE`, and the first start of an empty store), and read
whole as the fallback of a store from before the catalogue was one (issue 13).

A product's entry may add `names = { es = "…", ru = "…", pl = "…" }` (the English one is
`name`) and `effective_from = "2027-03-01"` for its prices; without a date they take effect
from CATALOGUE_EPOCH (always).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import psycopg

from domain.catalogue import CATALOGUE_EPOCH, product_id
from domain.money import Money
from domain.pricing import Catalogue, PriceUnit, Product
from ledger.command_records import CommandResult
from ledger.commands.catalogue import ImportedPrice, ImportProduct
from ledger.store import EVENTS_TABLE
from ledger.unit_of_work import Command

DEFAULT = "catalogue.toml"


class CatalogueError(Exception):
    """The catalogue file is missing or malformed; the message names the product and field."""


def load_catalogue(path: Path | None = None) -> Catalogue:
    """The products in `path`, or in the catalogue that ships with Ledgerline."""
    data = _read(path)
    return Catalogue.of(*(_products(data)))


def import_commands(path: Path | None = None) -> list[tuple[ImportProduct, str]]:
    """One command per product of the file, each with a key derived from its content: a file
    imported again replays the first answers and writes nothing."""
    data = _read(path)
    _products(data)  # refuses a malformed file before anything is imported
    commands = []
    for entry in data.get("product", []):
        code = str(entry["code"])
        try:
            others = entry.get("names", {})
            if not isinstance(others, dict):
                raise ValueError("names is a table of language = name")
            names = {"en": str(entry["name"]), **{k: str(v) for k, v in others.items()}}
            effective_from = date.fromisoformat(str(entry.get("effective_from", CATALOGUE_EPOCH)))
        except ValueError as error:
            raise CatalogueError(f"Product {code!r} in the catalogue is invalid: {error}") from None
        prices = tuple(
            ImportedPrice(money.currency, money.amount_minor, effective_from)
            for money in (
                Money.of(str(amount), currency) for currency, amount in entry["prices"].items()
            )
        )
        command = ImportProduct(
            code=code, names=tuple(names.items()), unit=PriceUnit(entry["unit"]), prices=prices
        )
        commands.append((command, f"catalogue-import/{code}/{command.fingerprint()}"))
    return commands


def import_catalogue(
    execute: Callable[[Command, str], CommandResult], path: Path | None = None
) -> list[CommandResult]:
    """Import a catalogue file (the shipped one by default) through `execute` (the ledger's)."""
    return [execute(command, key) for command, key in import_commands(path)]


HAS_PRODUCT = f"SELECT 1 FROM {EVENTS_TABLE} WHERE originator_id = ANY(%s) LIMIT 1"  # noqa: S608
"""Whether any of the products is in the store: a primary-key lookup per product (the table's
name is a constant, never input)."""


def import_on_first_start(
    conn: psycopg.Connection[Any],
    execute: Callable[[Command, str], CommandResult],
    path: Path | None = None,
) -> bool:
    """Import the catalogue file when the store holds none of its products (a first start),
    so a new user finds products to sell; True if it did. A store that has them is left as
    it is: the catalogue is changed through its commands from then on."""
    ids = [product_id(str(entry["code"])) for entry in _read(path).get("product", [])]
    if conn.execute(HAS_PRODUCT, (ids,)).fetchone() is not None:
        return False
    import_catalogue(execute, path)
    return True


def _read(path: Path | None) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8") if path else _default_text()
        return tomllib.loads(text)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise CatalogueError(f"Cannot read the catalogue {path or DEFAULT}: {error}") from None


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
