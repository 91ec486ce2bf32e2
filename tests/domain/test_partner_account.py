"""PartnerAccount.open: given nothing, when the vendor opens an account, then `Opened`."""

from __future__ import annotations

from uuid import uuid4

import pytest

from domain.errors import InvalidValue, Refusal, UnknownCurrency, UnknownTimeZone
from domain.partner_account import PartnerAccount
from domain.values import TEXT_MAX_LENGTH as NAME_MAX_LENGTH
from tests.support import START


def open_account(**overrides: str) -> PartnerAccount:
    fields = {"name": "Acme Resellers", "currency": "USD", "time_zone": "America/New_York"}
    fields.update(overrides)
    return PartnerAccount.open(partner_id=uuid4(), now=START, **fields)


def test_opening_an_account_records_opened_with_its_decided_fields() -> None:
    partner_id = uuid4()
    account = PartnerAccount.open(
        partner_id=partner_id,
        name="  Acme \t Resellers ",
        currency="EUR",
        time_zone="Europe/Madrid",
        now=START,
    )
    [event] = account.collect_events()
    assert isinstance(event, PartnerAccount.Opened)
    assert (event.originator_id, event.originator_version) == (partner_id, 1)
    assert (event.name, event.currency, event.time_zone) == (
        "Acme Resellers",
        "EUR",
        "Europe/Madrid",
    )
    assert event.timestamp == START
    assert (account.name, account.currency, account.time_zone) == (
        "Acme Resellers",
        "EUR",
        "Europe/Madrid",
    )


def test_replaying_opened_rebuilds_the_same_account() -> None:
    account = open_account()
    [event] = account.collect_events()
    rebuilt = event.mutate(None)
    assert rebuilt == account


@pytest.mark.parametrize("name", ["", "   ", "x" * (NAME_MAX_LENGTH + 1)])
def test_a_partner_needs_a_name_of_reasonable_length(name: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        open_account(name=name)
    assert refused.value.code == "invalid_value"
    assert refused.value.fields == {"field": "name"}
    assert refused.value.refusal is Refusal.INVALID


@pytest.mark.parametrize("currency", ["XYZ", "usd", "", "DEM", "US"])
def test_r_x1_the_currency_must_be_iso_4217_in_use(currency: str) -> None:
    with pytest.raises(UnknownCurrency) as refused:
        open_account(currency=currency)
    assert refused.value.code == "currency_unknown"
    assert refused.value.fields == {"currency": currency}


@pytest.mark.parametrize("currency", ["USD", "RUB", "PLN", "JPY", "KWD"])
def test_r_x1_currencies_in_use_are_accepted(currency: str) -> None:
    assert open_account(currency=currency).currency == currency


@pytest.mark.parametrize(
    "time_zone", ["Mars/Olympus", "", "/etc/passwd", "../../etc/passwd", " Europe/Madrid", "UTC+3"]
)
def test_r_x7_the_time_zone_must_be_an_iana_name(time_zone: str) -> None:
    with pytest.raises(UnknownTimeZone) as refused:
        open_account(time_zone=time_zone)
    assert refused.value.code == "time_zone_unknown"
