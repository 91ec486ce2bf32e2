"""Not found: one builder (`NotFound.of`) for every refusal of a thing that does not exist, so
the ledger, its commands and the edge that hides another partner's ids answer in the same
words and with the same field."""

from __future__ import annotations

from uuid import UUID

import pytest

from domain.errors import (
    BillingError,
    LocationNotFound,
    NotFound,
    PaymentNotFound,
    Refusal,
)

THING = UUID("00000000-0000-4000-8000-00000000002a")


def refusals(cls: type[BillingError] = BillingError) -> list[type[BillingError]]:
    found: list[type[BillingError]] = []
    for sub in cls.__subclasses__():
        found += [sub, *refusals(sub)]
    return found


FAMILY = refusals(NotFound)


def test_every_not_found_refusal_is_built_by_the_one_builder() -> None:
    """A new `…NotFound` written beside the family would build its words its own way."""
    not_found = {cls for cls in refusals() if cls.refusal is Refusal.NOT_FOUND}
    assert not_found == {NotFound, *FAMILY}
    assert len(FAMILY) >= 8


@pytest.mark.parametrize("cls", FAMILY, ids=lambda cls: cls.__name__)
def test_a_not_found_names_its_thing_and_carries_its_id(cls: type[NotFound]) -> None:
    refused = cls.of(THING)
    assert refused.detail == f"No {cls.what} {THING}."
    assert refused.fields == {cls.id_field: THING}
    assert refused.code.endswith("_not_found")
    assert type(refused) is cls


def test_a_narrower_search_says_where_it_looked() -> None:
    announced = PaymentNotFound.of(THING, what="announced payment", where=" on this invoice")
    assert announced.detail == f"No announced payment {THING} on this invoice."
    assert announced.fields == {"payment_id": THING}
    assert LocationNotFound.of(THING, where=" on this line").detail == (
        f"No location {THING} on this line."
    )
