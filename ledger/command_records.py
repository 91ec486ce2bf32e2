"""What commands and the writer exchange: a command's committed result, an e-mail a command
sends, and the inline projections written in the same transaction as the events. (A command
itself is what a unit of work runs: `Command` in ledger/unit_of_work.py.)"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

import psycopg

if TYPE_CHECKING:
    pass


@dataclass(frozen=True)
class CommandResult:
    """What a command did: the aggregate it created or changed, its log position, its answer."""

    aggregate_id: UUID | None
    position: int
    data: dict[str, Any] = field(default_factory=dict)
    replayed: bool = False
    """True when this is the first answer given again for a repeated idempotency key."""

    def response(self) -> dict[str, Any]:
        aggregate_id = None if self.aggregate_id is None else str(self.aggregate_id)
        return {"aggregate_id": aggregate_id, **self.data}


@dataclass(frozen=True)
class Message:
    """An e-mail to send because of what a command did; the dedup key makes sending safe."""

    dedup_key: str
    kind: str
    recipient: str
    subject: str
    body: str
    partner_id: UUID | None = None
    """The partner it is about, whose e-mails list shows it."""
    details: Mapping[str, str] = field(default_factory=dict)
    """What a reader needs without parsing the body: the invoice, a decline's reason, a link."""


Lookup = Callable[[UUID], Any]
"""An aggregate by id, as the batch being written makes it (for inline projections)."""


class InlineProjection(Protocol):
    """A table kept in step with the events, in the same transaction (schedule, indexes).

    A projection may remember what it last wrote for an aggregate, to skip writing the same
    again; `settle(committed)` tells it whether the batch committed, and `forget` that another
    process may have changed an aggregate, so its rows must be written afresh.
    """

    def apply(self, conn: psycopg.Connection[Any], events: list[Any], lookup: Lookup) -> None: ...

    def settle(self, committed: bool) -> None: ...

    def forget(self, aggregate_ids: list[UUID] | None) -> None: ...
