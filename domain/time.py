"""Time zones and business dates (R-X7): instants are UTC, business dates are local."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.errors import UnknownTimeZone


def zone(name: str) -> ZoneInfo:
    """Return the IANA time zone of this name, or refuse it."""
    if not name or name != name.strip() or name.startswith("/") or ".." in name:
        raise UnknownTimeZone(f"{name!r} is not an IANA time zone name.", time_zone=name)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UnknownTimeZone(f"{name!r} is not an IANA time zone name.", time_zone=name) from None
