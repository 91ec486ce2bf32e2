"""Schemas and helpers shared by every resource: money, command answers, pages, positions."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo

from api.metrics import REPLAYED_HEADER
from domain.errors import InvalidValue
from domain.money import AMOUNT_MAX_MINOR, Money
from domain.text import printable_text
from ledger.command_records import CommandResult
from projections.generations import Stop
from projections.tracking import READ_WAIT_MAX_S

T = TypeVar("T")

READ_WAIT_DEFAULT_MS = 2_000
READ_WAIT_MAX_MS = int(READ_WAIT_MAX_S * 1000)
PAGE_SIZE_DEFAULT = 50
PAGE_SIZE_MAX = 200
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1
"""A cursor's whole numbers (log positions, mail ids) are PostgreSQL bigints; a forged one
outside them would fail the query instead of being refused."""
MINOR_MAX = AMOUNT_MAX_MINOR
"""An amount's bound is the domain's (domain/money.py AMOUNT_MAX_MINOR): the schema refuses
an absurd one early and says so in the OpenAPI document; the domain refuses it anyway."""


def _printable(value: str, info: ValidationInfo) -> str:
    """The domain's rule for text (domain/text.py `printable_text`), applied at the edge so a
    control character is a validation problem naming its field, whatever field holds it."""
    try:
        printable_text(info.field_name or "text", value)
    except InvalidValue as refused:
        raise ValueError(refused.detail) from None
    return value


FreeText = Annotated[str, AfterValidator(_printable)]
"""Text a client sends: no control characters (PostgreSQL's text and jsonb refuse NUL); the
domain collapses its whitespace and applies its other rules."""


class MoneyModel(BaseModel):
    """An amount in integer minor units of an ISO 4217 currency: 1234 USD is $12.34."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"amount_minor": 3900, "currency": "USD"}]}
    )

    amount_minor: int = Field(ge=-MINOR_MAX, le=MINOR_MAX, strict=True)
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code.")

    @classmethod
    def of(cls, money: Money) -> MoneyModel:
        return cls(amount_minor=money.amount_minor, currency=money.currency)

    def to_money(self) -> Money:
        """The domain's Money (an unknown currency is refused there, as a 422 problem)."""
        return Money(self.amount_minor, self.currency)


class MoneySum(MoneyModel):
    """A sum over many amounts (a trial balance's debits over every partner, what a partner
    owes on all its invoices): integer minor units, not held to one amount's bound."""

    amount_minor: int = Field(strict=True)


class PositiveMoney(MoneyModel):
    """An amount above zero."""

    amount_minor: int = Field(gt=0, le=MINOR_MAX, strict=True)


class CommandAccepted(BaseModel):
    """A command was recorded: the id of what it created or changed and its log position."""

    id: str = Field(description="Id of the resource the command created or changed.")
    position: int = Field(
        ge=0,
        description="Log position of the command's last event; pass it as `min_position` "
        "to a GET to read your own write.",
    )


COMMAND_ANSWER: dict[str, Any] = {
    "description": "Recorded: the `id` of what the command created or changed and the log "
    "`position` of its last event; `Location` names the resource. A retry with the same "
    "Idempotency-Key and body answers the same and writes nothing.",
    "headers": {
        "Location": {
            "description": "The path of the resource the command created or changed.",
            "required": True,
            "schema": {"type": "string"},
        },
        REPLAYED_HEADER: {
            "description": "`true` when this is the recorded answer to an earlier request "
            "with the same Idempotency-Key (nothing was written again); absent otherwise.",
            "schema": {"type": "string", "enum": ["true"]},
        },
    },
}
"""The OpenAPI entry of a command's 201, as `accepted` sends it (api/openapi.py adds it to
every 201 of the document: every command answers through `accepted`)."""


def accepted(
    response: Response, result: CommandResult, location: str, id_: object | None = None
) -> CommandAccepted:
    """The answer to a command: `Location`, the id, the position; a replay says so."""
    response.headers["Location"] = location
    if result.replayed:
        response.headers[REPLAYED_HEADER] = "true"
    return CommandAccepted(id=str(id_ or result.aggregate_id), position=result.position)


class PageParams:
    """`limit` and `cursor` of a list: keyset pagination, stable under concurrent writes."""

    def __init__(
        self,
        limit: Annotated[
            int, Query(ge=1, le=PAGE_SIZE_MAX, description="Items per page.")
        ] = PAGE_SIZE_DEFAULT,
        cursor: Annotated[
            str | None,
            Query(
                max_length=512,
                description="The `next_cursor` of the previous page; leave out for the first.",
            ),
        ] = None,
    ) -> None:
        self.limit = limit
        self.after: list[Any] | None = decode_cursor(cursor) if cursor else None

    def after_as(self, *kinds: Callable[[Any], Any]) -> tuple[Any, ...] | None:
        """The cursor's sort key converted to the list's types (`UUID`, `int`,
        `date.fromisoformat`, …); a cursor of another list or a forged one is a 422 problem."""
        if self.after is None:
            return None
        if len(self.after) != len(kinds):
            raise InvalidValue("The cursor is not one this list gave out.", field="cursor")
        try:
            values = tuple(kind(value) for kind, value in zip(kinds, self.after, strict=True))
        except (TypeError, ValueError, AttributeError, OverflowError):
            values = None
        if values is None or any(
            isinstance(value, int) and not BIGINT_MIN <= value <= BIGINT_MAX for value in values
        ):
            raise InvalidValue("The cursor is not one this list gave out.", field="cursor")
        return values


class Page(BaseModel, Generic[T]):
    """One page of a list; `next_cursor` fetches the next, and is null on the last page."""

    items: list[T]
    next_cursor: str | None = None


def page_of(items: list[T], limit: int, key: Callable[[T], list[Any]]) -> Page[T]:
    """A page from up to `limit + 1` fetched items: the extra one says a next page exists."""
    if len(items) > limit:
        kept = items[:limit]
        return Page[T](items=kept, next_cursor=encode_cursor(key(kept[-1])))
    return Page[T](items=items)


def encode_cursor(values: list[Any]) -> str:
    """An opaque cursor holding the sort key of the last item of a page."""
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode()


def decode_cursor(cursor: str) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidValue("The cursor is not one this API gave out.", field="cursor") from None
    if not isinstance(values, list):
        raise InvalidValue("The cursor is not one this API gave out.", field="cursor")
    return values


class ProjectionStop(BaseModel):
    """Why the live runner stopped a read model: the event it could not apply."""

    position: int = Field(description="The log position of the event it could not apply.")
    topic: str = Field(description="That event's kind.")
    reason: str = Field(description="The database's error applying it.")
    stopped_at: datetime

    @classmethod
    def of(cls, stop: Stop | None) -> ProjectionStop | None:
        if stop is None:
            return None
        return cls(
            position=stop.position,
            topic=stop.topic,
            reason=stop.reason,
            stopped_at=stop.stopped_at,
        )
