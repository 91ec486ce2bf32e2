"""The vendor's profile file (ledger/vendor.toml, LEDGERLINE_VENDOR_PROFILE; issue 17): the
shipped one reads, a malformed one is refused naming its version, and a deployment's file is
checked when the settings are read, so a bad one stops the start rather than the first PDF."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from ledger.settings import Settings
from ledger.vendor import VendorProfileError, load_vendor_profiles

VERSION = """
[[version]]
version = {version}
effective_from = "{effective_from}"
legal_name = "Otter Billing GmbH"
address = ["Hauptstraße 1", "10115 Berlin", "Germany"]
tax_ids = [["USt-IdNr.", "DE123456789"]]
bank = [["IBAN", "DE89 3704 0044 0532 0130 00"]]
signatory = "Jana Otter"
footer = "Otter Billing GmbH"
tax_rates = {{ EUR = "{rate}" }}
"""


def write(tmp_path: Path, *versions: tuple[int, str, str]) -> Path:
    path = tmp_path / "vendor.toml"
    path.write_text(
        "".join(VERSION.format(version=v, effective_from=d, rate=r) for v, d, r in versions),
        encoding="utf-8",
    )
    return path


def test_issue_17_the_shipped_profile_reads_with_its_versions() -> None:
    profiles = load_vendor_profiles()
    assert [p.version for p in profiles.versions] == [1, 2]
    assert profiles.on(date(2026, 6, 1)).tax_rate("PLN") == Decimal("0.23")
    assert profiles.on(date(2026, 6, 1)).tax_rate("RUB") == 0


def test_issue_17_a_deployments_profile_is_read_from_its_file(tmp_path: Path) -> None:
    path = write(tmp_path, (1, "2026-01-01", "0.19"), (2, "2027-01-01", "0.2"))
    profiles = load_vendor_profiles(path)
    assert profiles.on(date(2027, 3, 1)).tax_rate("EUR") == Decimal("0.2")
    assert profiles.on(date(2026, 3, 1)).legal_name == "Otter Billing GmbH"


@pytest.mark.parametrize(
    ("versions", "named"),
    [
        (((1, "2026-01-01", "nineteen"),), "version 1"),
        (((1, "2026-13-01", "0.19"),), "version 1"),
        (((1, "2026-01-01", "1.19"),), "tax rate for EUR"),
        (((1, "2027-01-01", "0.19"), (2, "2026-01-01", "0.19")), "later dates"),
        ((), "no version"),
    ],
)
def test_issue_17_a_malformed_profile_is_refused_saying_where(
    tmp_path: Path, versions: tuple[tuple[int, str, str], ...], named: str
) -> None:
    with pytest.raises(VendorProfileError, match=named):
        load_vendor_profiles(write(tmp_path, *versions))


def test_issue_17_a_profile_without_its_legal_name_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, (1, "2026-01-01", "0.19"))
    path.write_text(path.read_text(encoding="utf-8").replace("legal_name", "name"), "utf-8")
    with pytest.raises(VendorProfileError, match="version 1 is invalid: KeyError"):
        load_vendor_profiles(path)


def test_issue_17_the_setting_checks_the_file_when_settings_are_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    good = write(tmp_path, (1, "2026-01-01", "0.19"))
    monkeypatch.setenv("LEDGERLINE_VENDOR_PROFILE", str(good))
    assert Settings().vendor_profile == good
    good.write_text("[[version]]\nversion = 1\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="vendor_profile"):
        Settings()
    monkeypatch.setenv("LEDGERLINE_VENDOR_PROFILE", str(tmp_path / "missing.toml"))
    with pytest.raises(ValidationError, match="vendor_profile"):
        Settings()
