"""R-X1: currency exponents are ISO 4217's, from the vendored list, and frozen once stored.

`amount_minor` 1234 in RSD means 12.34 dinars only while RSD's exponent is 2. So the table in
domain/currencies.py is generated from the ISO 4217 list kept in standards/iso4217/ (never
from a locale library's display digits, which CLDR changes between releases), and every
exponent it has ever had is frozen below: a change to one is a change to the meaning of
amounts already in event stores.
"""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from uuid import uuid4

import pytest

from domain.currencies import ISO_4217_PUBLISHED, MINOR_UNIT_EXPONENTS, WITHDRAWN
from domain.errors import CurrencyWithdrawn, Refusal
from domain.money import Money, check_new_account_currency, minor_unit_exponent
from domain.partner_account import PartnerAccount

ROOT = Path(__file__).resolve().parents[2]

# The exponents stored amounts mean, as of 2026-12-07 (ISO 4217 list one published
# 2026-01-01). Append-only: a new currency is added here on purpose; an existing exponent is
# never edited, whatever a newer list or library says.
FROZEN = """
    AED2 AFN2 ALL2 AMD2 AOA2 ARS2 AUD2 AWG2 AZN2 BAM2 BBD2 BDT2 BGN2 BHD3
    BIF0 BMD2 BND2 BOB2 BRL2 BSD2 BTN2 BWP2 BYN2 BZD2 CAD2 CDF2 CHF2 CLP0
    CNY2 COP2 CRC2 CUP2 CVE2 CZK2 DJF0 DKK2 DOP2 DZD2 EGP2 ERN2 ETB2 EUR2
    FJD2 FKP2 GBP2 GEL2 GHS2 GIP2 GMD2 GNF0 GTQ2 GYD2 HKD2 HNL2 HTG2 HUF2
    IDR2 ILS2 INR2 IQD3 IRR2 ISK0 JMD2 JOD3 JPY0 KES2 KGS2 KHR2 KMF0 KPW2
    KRW0 KWD3 KYD2 KZT2 LAK2 LBP2 LKR2 LRD2 LSL2 LYD3 MAD2 MDL2 MGA2 MKD2
    MMK2 MNT2 MOP2 MRU2 MUR2 MVR2 MWK2 MXN2 MYR2 MZN2 NAD2 NGN2 NIO2 NOK2
    NPR2 NZD2 OMR3 PAB2 PEN2 PGK2 PHP2 PKR2 PLN2 PYG0 QAR2 RON2 RSD2 RUB2
    RWF0 SAR2 SBD2 SCR2 SDG2 SEK2 SGD2 SHP2 SLE2 SOS2 SRD2 SSP2 STN2 SVC2
    SYP2 SZL2 THB2 TJS2 TMT2 TND3 TOP2 TRY2 TTD2 TWD2 TZS2 UAH2 UGX0 USD2
    UYU2 UYW4 UZS2 VED2 VES2 VND0 VUV0 WST2 XAD2 XAF0 XCD2 XCG2 XOF0 XPF0
    YER2 ZAR2 ZMW2 ZWG2
"""
FROZEN_EXPONENTS = {item[:3]: int(item[3:]) for item in FROZEN.split()}


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "generate_currencies", ROOT / "scripts" / "generate_currencies.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_r_x1_minor_units_of_well_known_currencies() -> None:
    assert {code: minor_unit_exponent(code) for code in ("USD", "RUB", "PLN", "JPY", "KWD")} == {
        "USD": 2,
        "RUB": 2,
        "PLN": 2,
        "JPY": 0,
        "KWD": 3,
    }


def test_r_x1_no_stored_exponent_ever_changes() -> None:
    changed = {
        code: f"{frozen} -> {MINOR_UNIT_EXPONENTS.get(code)}"
        for code, frozen in FROZEN_EXPONENTS.items()
        if MINOR_UNIT_EXPONENTS.get(code) != frozen
    }
    assert changed == {}, (
        f"currency exponents changed ({changed}): amounts already in the event store would "
        "change meaning. That needs a data migration of the stored events, never a "
        "regeneration of domain/currencies.py; a currency that leaves ISO 4217 stays, withdrawn."
    )


def test_r_x1_a_new_currency_is_frozen_on_purpose() -> None:
    unfrozen = sorted(set(MINOR_UNIT_EXPONENTS) - set(FROZEN_EXPONENTS))
    assert unfrozen == [], f"add {unfrozen} to FROZEN in this file, with their exponents"


def test_r_x1_table_is_generated_from_the_vendored_iso_4217_list() -> None:
    script = _script()
    published, listed = script.read_list_one()
    assert published == ISO_4217_PUBLISHED
    # Every listed currency with its ISO exponent; the rest are withdrawn ones, kept readable.
    assert {code: MINOR_UNIT_EXPONENTS[code] for code in listed} == listed
    assert set(MINOR_UNIT_EXPONENTS) - set(listed) == set(WITHDRAWN)
    assert script.main(["--check"]) == 0, "run .venv/bin/python scripts/generate_currencies.py"


def test_r_x1_iso_4217_differs_from_cldr_display_digits() -> None:
    """The codes CLDR shows with no decimals but ISO 4217 gives two (or three) minor units."""
    assert {code: MINOR_UNIT_EXPONENTS[code] for code in ("RSD", "IQD", "IRR", "HUF", "IDR")} == {
        "RSD": 2,
        "IQD": 3,
        "IRR": 2,
        "HUF": 2,
        "IDR": 2,
    }
    assert {code: MINOR_UNIT_EXPONENTS[code] for code in ("UYW", "CLP", "JPY")} == {
        "UYW": 4,
        "CLP": 0,
        "JPY": 0,
    }
    # Funds and units without a minor unit are not money an account is kept in.
    assert not {"CLF", "CHE", "USN", "XAU", "XDR", "XTS", "XXX"} & set(MINOR_UNIT_EXPONENTS)


def test_r_x1_generator_refuses_to_change_a_known_exponent() -> None:
    script = _script()
    with pytest.raises(script.ExponentChanged, match="data migration") as refused:
        script.merge({"RSD": 0, "USD": 2}, "2030-01-01", {"RSD": 2, "USD": 2}, {})
    assert "RSD 2 -> 0" in str(refused.value)


def test_r_x1_a_currency_leaving_the_list_stays_readable_and_withdrawn() -> None:
    table, withdrawn = _script().merge({"EUR": 2}, "2026-01-01", {"EUR": 2, "BGN": 2}, {})
    assert table == {"BGN": 2, "EUR": 2}
    assert withdrawn == {"BGN": "2026-01-01"}


def test_r_x1_withdrawn_currency_reads_but_opens_no_new_account() -> None:
    assert WITHDRAWN == {"BGN": "2026-01-01"}
    assert Money.of("12.34", "BGN") == Money(1234, "BGN")  # old events still mean what they did
    with pytest.raises(CurrencyWithdrawn) as refused:
        check_new_account_currency("BGN")
    assert refused.value.code == "currency_withdrawn"
    assert refused.value.refusal is Refusal.INVALID
    with pytest.raises(CurrencyWithdrawn):
        PartnerAccount.open(
            partner_id=uuid4(),
            name="Sofia Resellers",
            currency="BGN",
            time_zone="Europe/Sofia",
            now=datetime(2026, 12, 7, tzinfo=UTC),
        )
    assert check_new_account_currency("EUR") == "EUR"
