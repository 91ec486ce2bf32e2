# ruff: noqa: RUF001 (a Russian label is Cyrillic on purpose)
"""The customer's tax id on a partner's billing profile (issue 17): kept as it is to be printed,
bounded by `TAX_ID_MAX_LENGTH`, refused with a stable code and nothing recorded otherwise.
Pure: well under 0.1 s."""

from __future__ import annotations

from uuid import uuid4

import pytest

from domain.errors import BillingError, CardNumberInText, TaxIdInvalid
from domain.partner_account import PartnerAccount
from domain.values import TAX_ID_MAX_LENGTH, Address, clean_tax_id
from tests.support import START

ADDRESS = Address.of(["ul. Długa 1"], "Gdańsk", "80-827", "PL")


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("7707083893", "7707083893"),  # ИНН
        (" PL  525-200-00-00 ", "PL 525-200-00-00"),  # NIP, as people type it
        ("ESB12345678", "ESB12345678"),  # NIF
        ("12-3456789", "12-3456789"),  # EIN
        ("1" * TAX_ID_MAX_LENGTH, "1" * TAX_ID_MAX_LENGTH),
        (None, None),
    ],
)
def test_issue_17_a_tax_id_is_kept_as_it_is_to_be_printed(typed: str | None, kept: str) -> None:
    assert clean_tax_id("tax_id", typed) == kept


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("1" * (TAX_ID_MAX_LENGTH + 1), TaxIdInvalid),
        (" \t", TaxIdInvalid),
        ("NIP: 5252000000", TaxIdInvalid),
        ("ИНН7707083893", TaxIdInvalid),  # the label is the document's, not the id's
        ("VAT-ID", TaxIdInvalid),
        ("4111 1111 1111 1111", CardNumberInText),  # R-X4
    ],
)
def test_issue_17_a_bad_tax_id_is_refused_and_the_profile_records_nothing(
    typed: str, error: type[BillingError]
) -> None:
    account = PartnerAccount.open(
        partner_id=uuid4(), name="Kawiarnie", currency="PLN", time_zone="Europe/Warsaw", now=START
    )
    account.collect_events()
    with pytest.raises(error) as refused:
        account.record_billing_profile(
            "Kawiarnie Sp. z o.o.", ADDRESS, "faktury@kawiarnie.example", START, tax_id=typed
        )
    assert refused.value.fields["field"] == "tax_id"
    assert account.collect_events() == []
    assert (account.entity, account.tax_id) == (None, None)


def test_issue_17_the_tax_id_is_recorded_with_the_profile_and_replaced_with_it() -> None:
    account = PartnerAccount.open(
        partner_id=uuid4(), name="Kawiarnie", currency="PLN", time_zone="Europe/Warsaw", now=START
    )
    assert account.tax_id is None
    account.record_billing_profile("K", ADDRESS, "f@k.example", START, tax_id="725-123-45-67")
    assert account.tax_id == "725-123-45-67"
    account.record_billing_profile("K", ADDRESS, "f@k.example", START)
    assert account.tax_id is None
    events = account.collect_events()
    assert [getattr(event, "tax_id", "-") for event in events] == ["-", "725-123-45-67", None]
