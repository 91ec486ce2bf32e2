"""The vendor's profile, read from a TOML file of dated versions (ledger/vendor.toml by
default, or the file LEDGERLINE_VENDOR_PROFILE names): what every document prints as its
issuer (domain/vendor.py, docs/documents.md)."""

from __future__ import annotations

import tomllib
from datetime import date
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from domain.errors import InvalidValue
from domain.vendor import VendorProfile, VendorProfiles

DEFAULT = "vendor.toml"


class VendorProfileError(Exception):
    """The vendor profile file is missing or malformed; the message names the version."""


def load_vendor_profiles(path: Path | None = None) -> VendorProfiles:
    """Every version in `path`, or in the profile that ships with Ledgerline."""
    try:
        text = (
            path.read_text(encoding="utf-8")
            if path
            else resources.files("ledger").joinpath(DEFAULT).read_text(encoding="utf-8")
        )
        data = tomllib.loads(text)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise VendorProfileError(
            f"Cannot read the vendor profile {path or DEFAULT}: {error}"
        ) from None
    try:
        return VendorProfiles(tuple(_version(entry) for entry in data.get("version", [])))
    except InvalidValue as error:
        raise VendorProfileError(f"The vendor profile {path or DEFAULT}: {error}") from None


def _version(entry: dict[str, Any]) -> VendorProfile:
    number = entry.get("version")
    try:
        return VendorProfile(
            version=int(entry["version"]),
            effective_from=date.fromisoformat(str(entry["effective_from"])),
            legal_name=str(entry["legal_name"]),
            address=tuple(str(line) for line in entry["address"]),
            tax_ids=_pairs(entry.get("tax_ids", [])),
            bank=_pairs(entry.get("bank", [])),
            signatory=str(entry.get("signatory", "")),
            footer=str(entry.get("footer", "")),
            tax_rates=MappingProxyType(
                {str(k): Decimal(str(v)) for k, v in entry.get("tax_rates", {}).items()}
            ),
        )
    except (KeyError, TypeError, ValueError, InvalidOperation) as error:
        raise VendorProfileError(
            f"Vendor profile version {number!r} is invalid: {error!r}"
        ) from None


def _pairs(rows: list[Any]) -> tuple[tuple[str, str], ...]:
    if not all(isinstance(row, list) and len(row) == 2 for row in rows):
        raise ValueError("pairs are written [what, value]")
    return tuple((str(what), str(value)) for what, value in rows)
