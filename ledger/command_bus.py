"""Running commands: each under an idempotency key, through the writer (R-X5).

`CommandBus` submits a command and answers its result (`execute`, holding the calling thread;
`submit`, a coroutine that holds none), finds the first answer to a key (and, for a command
that reaches the payment processor first, whether the key was first used for this very
request), and loads aggregates read-only for the work done before a command.
The helpers below derive ids from keys and add to an answer what the work it set off did.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, TypeVar
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.persistence import Mapper

from domain.errors import InvoiceNotFound, LineNotFound, PartnerNotFound
from domain.invoice import Invoice
from domain.partner_account import PartnerAccount
from domain.subscription_line import SubscriptionLine
from domain.values import Actor
from ledger import queries, store
from ledger.availability import CheckedPool
from ledger.command_records import CommandResult
from ledger.errors import IdempotencyKeyReused
from ledger.fingerprints import is_same_command
from ledger.unit_of_work import Command
from ledger.writer import SUBMIT_TIMEOUT_S, Writer

KEY_NAMESPACE = uuid5(NAMESPACE_URL, "https://ledgerline.invalid/idempotency")
"""Ids derived from idempotency keys, so a repeated command names the same payment or method."""

A = TypeVar("A")


class CommandBus:
    """Submits commands to the writer and reads what the store knows, outside any command."""

    def __init__(self, writer: Writer, reads: CheckedPool, mapper: Mapper[UUID]) -> None:
        self.writer = writer
        self.reads = reads
        self.mapper = mapper

    def execute(self, command: Command, key: str | None = None) -> CommandResult:
        """Run a command under an idempotency key (a fresh one when none is given)."""
        return self.writer.submit(command, key_or_fresh(key))

    async def submit(self, command: Command, key: str | None = None) -> CommandResult:
        """Run a command under an idempotency key, awaiting its committed result without
        holding a thread: the writer's pump writes it (the HTTP edge's way in)."""
        waiter = self.writer.enqueue(command, key_or_fresh(key))
        # Giving up (the timeout, or the caller's task cancelled) cancels only this wait:
        # the command stays queued and may still land, as with `execute`.
        async with asyncio.timeout(SUBMIT_TIMEOUT_S):
            return await waiter

    def first_answer(self, command: Command, key: str) -> CommandResult | None:
        """The first answer to `key` if it was used for this same command, None if it was never
        used; IdempotencyKeyReused if it was used for another (R-X5).

        For the work done before a command (a charge, a tokenised card): asked before that
        work, with the command as it will be written but for what the processor will answer
        (left out of its fingerprint), so a retry does the work only once, and a key reused
        for another request is refused before any money moves.
        """
        with self.reads.connection() as conn:
            recorded = queries.recorded_command(conn, key)
        if recorded is None:
            return None
        name, fingerprint, result = recorded
        if not is_same_command(command, name, fingerprint):
            raise IdempotencyKeyReused(
                "This idempotency key was already used for a different command."
            )
        return result

    def replayed(self, key: str) -> CommandResult | None:
        """The first answer to a key, if a command was already recorded under it (R-X5)."""
        with self.reads.connection() as conn:
            return queries.recorded_result(conn, key)

    def load(self, cls: type[A], aggregate_id: UUID) -> A | None:
        """An aggregate as its events make it now (read only, straight from the store)."""
        with self.reads.connection() as conn:
            aggregate = store.load(conn, self.mapper, aggregate_id, snapshots=True)
        return aggregate if isinstance(aggregate, cls) else None

    def partner_account(self, partner_id: UUID) -> PartnerAccount:
        account = self.load(PartnerAccount, partner_id)
        if account is None:
            raise PartnerNotFound.of(partner_id)
        return account

    def owned_partner_account(self, partner_id: UUID, actor: Actor) -> PartnerAccount:
        """The partner's account, if `actor` may act on it; another partner's is not found.
        For the work done before a command: refused so, nothing reaches the processor."""
        if not actor.may_act_for(partner_id):
            raise PartnerNotFound.of(partner_id)
        return self.partner_account(partner_id)

    def line(self, line_id: UUID) -> SubscriptionLine:
        subscription = self.load(SubscriptionLine, line_id)
        if subscription is None:
            raise LineNotFound.of(line_id)
        return subscription

    def invoice(self, invoice_id: UUID) -> Invoice:
        invoice = self.load(Invoice, invoice_id)
        if invoice is None:
            raise InvoiceNotFound.of(invoice_id)
        return invoice


@dataclass(frozen=True)
class ChargeOutcomes:
    """What one charge of several invoices did to each, and the log position it reached (0
    when nothing was written)."""

    outcomes: list[dict[str, Any]] = field(default_factory=list)
    position: int = 0


def key_or_fresh(key: str | None) -> str:
    """The caller's idempotency key, or a fresh one for a caller that gave none."""
    return key or f"anonymous/{uuid4()}"


def derived_id(key: str | None) -> UUID:
    """An id derived from the idempotency key: a repeat names the same thing."""
    return uuid5(KEY_NAMESPACE, key) if key else uuid4()


def result_including(result: CommandResult, position: int = 0, **data: Any) -> CommandResult:
    """The result with more answer data; its position moves on to `position`, the last event of
    the work the command set off (a charge), so that reading at the answered position shows
    that work too."""
    return CommandResult(
        result.aggregate_id,
        max(result.position, position),
        {**result.data, **data},
        result.replayed,
    )


def result_including_charges(result: CommandResult, charged: ChargeOutcomes) -> CommandResult:
    """The result with what its charge did to each invoice, answered at the charge's position."""
    return result_including(result, charged.position, charges=charged.outcomes)
