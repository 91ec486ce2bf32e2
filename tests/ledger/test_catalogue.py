"""The catalogue of products on sale, read from TOML: one price per currency (R-X1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.errors import UnknownProduct
from domain.money import Money
from domain.pricing import PriceUnit
from ledger.catalogue import CatalogueError, load_catalogue


def test_the_shipped_catalogue_prices_each_product_per_currency() -> None:
    catalogue = load_catalogue()
    line = catalogue.product("messaging-line", "RUB")
    assert (line.unit, line.unit_price) == (PriceUnit.PER_LINE, Money(150_000, "RUB"))
    assert catalogue.product("pos-location", "EUR").unit_price == Money(4_500, "EUR")
    with pytest.raises(UnknownProduct) as refused:
        catalogue.product("lead", "EUR")
    assert refused.value.fields == {"product": "lead", "currency": "EUR"}


def test_a_catalogue_file_replaces_the_shipped_one(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.toml"
    path.write_text(
        '[[product]]\ncode = "seat"\nname = "Seat"\nunit = "per_location"\n'
        'prices = { JPY = "1200", KWD = "1.250" }\n'
    )
    catalogue = load_catalogue(path)
    assert catalogue.codes == ["seat"]
    assert catalogue.product("seat", "KWD").unit_price == Money(1_250, "KWD")


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ('[[product]]\ncode = "x"\nname = "X"\nunit = "per_hour"\nprices = { USD = "1" }\n', "'x'"),
        (
            '[[product]]\ncode = "x"\nname = "X"\nunit = "per_line"\nprices = { USD = "1.001" }\n',
            "'x'",
        ),
        ('[[product]]\ncode = "x"\nname = "X"\nunit = "per_line"\nprices = { XYZ = "1" }\n', "'x'"),
        ("[[product]\n", "catalogue"),
    ],
)
def test_a_malformed_catalogue_is_refused_naming_the_product(
    tmp_path: Path, text: str, names: str
) -> None:
    path = tmp_path / "catalogue.toml"
    path.write_text(text)
    with pytest.raises(CatalogueError) as refused:
        load_catalogue(path)
    assert names in str(refused.value)
