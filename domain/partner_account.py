"""The partner account: a reseller who pays for its clients' subscriptions."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import InvalidValue
from domain.money import check_currency
from domain.time import zone

NAME_MAX_LENGTH = 200
"""Long enough for any registered company name; short enough to print on an invoice."""


class PartnerAccount(Aggregate):
    """A partner's account with the vendor: who it is, its currency and its time zone."""

    class Opened(Aggregate.Created):
        """The vendor opened an account for a partner."""

        name: str
        currency: str
        time_zone: str

    def __init__(self, name: str, currency: str, time_zone: str) -> None:
        self.name = name
        self.currency = currency
        self.time_zone = time_zone

    @classmethod
    def open(
        cls,
        *,
        partner_id: UUID,
        name: str,
        currency: str,
        time_zone: str,
        now: datetime,
    ) -> PartnerAccount:
        """Open an account in one currency, billed on business dates of one time zone."""
        clean_name = " ".join(name.split())
        if not clean_name:
            raise InvalidValue("A partner needs a name.", field="name")
        if len(clean_name) > NAME_MAX_LENGTH:
            raise InvalidValue(
                f"A partner name has at most {NAME_MAX_LENGTH} characters.", field="name"
            )
        check_currency(currency)
        zone(time_zone)
        return cls._create(
            cls.Opened,
            id=partner_id,
            name=clean_name,
            currency=currency,
            time_zone=time_zone,
            timestamp=now,
        )
