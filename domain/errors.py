"""Business refusals: each has a stable snake_case code and structured fields."""

from __future__ import annotations

from enum import Enum
from typing import ClassVar


class Refusal(Enum):
    """Why a command was refused, which the edges map once to their own status codes."""

    INVALID = "invalid"
    """The request itself is wrong: a bad value, an unknown currency."""
    NOT_FOUND = "not_found"
    """A thing the command names does not exist (or is not the caller's to see)."""
    CONFLICT = "conflict"
    """The request is well formed but the current state does not allow it."""


class BillingError(Exception):
    """A command the business rules refuse; a refused command changes nothing."""

    code: ClassVar[str] = "billing_error"
    refusal: ClassVar[Refusal] = Refusal.CONFLICT

    def __init__(self, detail: str, **fields: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.fields = fields

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, detail={self.detail!r})"


class InvalidValue(BillingError):
    """A value in the command is not acceptable; `field` names it."""

    code = "invalid_value"
    refusal = Refusal.INVALID


class UnknownCurrency(BillingError):
    """The currency is not an ISO 4217 currency in use today."""

    code = "currency_unknown"
    refusal = Refusal.INVALID


class UnknownTimeZone(BillingError):
    """The time zone is not in the IANA time zone database."""

    code = "time_zone_unknown"
    refusal = Refusal.INVALID


class PartnerNotFound(BillingError):
    """No partner account has this id."""

    code = "partner_not_found"
    refusal = Refusal.NOT_FOUND
