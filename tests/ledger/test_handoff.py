"""The edge's way into the ledger: commands awaited without a thread each (the writer's pump),
the actor a command carries (a partner acts on its own resources only), and the first answer
to a key asked before the work a command sets off (R-X5)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any
from uuid import uuid4

import pytest

from domain.values import VENDOR, Actor
from ledger.application import Ledger
from ledger.command_records import CommandResult
from ledger.commands import lines as line_commands
from ledger.commands.partners import OpenPartnerAccount
from ledger.database import Database
from ledger.errors import IdempotencyKeyReused
from ledger.fingerprints import is_same_command
from tests.support import NOT_CATALOGUE

COMMANDS = 64


def _events(database: Database) -> int:
    with database.connect() as conn:
        row = conn.execute(f"SELECT count(*) FROM ledger_events WHERE {NOT_CATALOGUE}").fetchone()
    assert row is not None
    return int(str(row[0]))


def _open(name: str) -> OpenPartnerAccount:
    return OpenPartnerAccount(partner_id=uuid4(), name=name, currency="USD", time_zone="UTC")


def test_commands_awaited_together_are_written_in_shared_batches_by_one_thread(
    ledger: Ledger, database: Database
) -> None:
    """64 coroutines await their commands on one event loop (one thread): each is answered
    with its own committed result, and the pump wrote them in fewer transactions than
    commands (batches), while the loop's thread held no lock and waited on nothing."""
    batches = ledger.writer.batches

    async def all_at_once() -> list[CommandResult]:
        commands = [_open(f"Partner {n}") for n in range(COMMANDS)]
        return await asyncio.gather(
            *(ledger.submit(c, f"async/{n}") for n, c in enumerate(commands))
        )

    results = asyncio.run(all_at_once())
    ids = {result.aggregate_id for result in results}
    assert len(ids) == COMMANDS
    assert None not in ids
    assert _events(database) == COMMANDS
    assert 1 <= ledger.writer.batches - batches < COMMANDS
    assert any(thread.name == "writer-pump" for thread in threading.enumerate())


class CountingLoop(asyncio.SelectorEventLoop):
    """The standard event loop, counting the calls other threads make into it."""

    calls_from_threads = 0

    def call_soon_threadsafe(self, *args: Any, **kwargs: Any) -> asyncio.Handle:
        self.calls_from_threads += 1
        return super().call_soon_threadsafe(*args, **kwargs)


def test_a_batchs_answers_reach_the_awaiting_loop_in_one_call(ledger: Ledger) -> None:
    """64 coroutines on one loop: the writer wakes the loop once per batch, not once per
    command (the loop's thread is the HTTP server's bottleneck). Before, each answer crossed
    over on its own (`asyncio.wrap_future`): 64 calls."""

    async def all_at_once() -> tuple[int, int]:
        loop = asyncio.get_running_loop()
        assert isinstance(loop, CountingLoop)
        batches, calls = ledger.writer.batches, loop.calls_from_threads
        results = await asyncio.gather(
            *(ledger.submit(_open(f"P{n}"), f"one-call/{n}") for n in range(COMMANDS))
        )
        assert len({result.aggregate_id for result in results}) == COMMANDS
        return ledger.writer.batches - batches, loop.calls_from_threads - calls

    with asyncio.Runner(loop_factory=CountingLoop) as runner:
        batches, calls = runner.run(all_at_once())
    assert calls == batches < COMMANDS


def test_r_x5_a_cancelled_wait_neither_loses_nor_doubles_its_command(
    ledger: Ledger, database: Database
) -> None:
    """A coroutine that stops waiting (a client gone; a timeout is the same cancellation)
    while its batch waits for the events lock: its neighbours are answered, its command lands
    once all the same, and sending it again under its key replays that answer. Another
    connection holds the events table's lock so that the batch cannot finish before the
    cancel."""
    command = _open("Gone")

    async def cancel_one() -> None:
        with database.connect(autocommit=False) as blocker:
            blocker.execute("LOCK TABLE ledger_events IN EXCLUSIVE MODE")
            gone = asyncio.create_task(ledger.submit(command, "gone"))
            stay = [asyncio.create_task(ledger.submit(_open(f"S{n}"), f"s/{n}")) for n in (1, 2)]
            await asyncio.sleep(0)  # the three are queued; their batch waits for the lock
            gone.cancel()
            blocker.commit()
        for answer in await asyncio.gather(*stay):
            assert answer.aggregate_id is not None
        with pytest.raises(asyncio.CancelledError):
            await gone
        again = await ledger.submit(command, "gone")
        assert again.replayed
        assert again.aggregate_id == command.partner_id

    asyncio.run(cancel_one())
    assert _events(database) == 3


def test_r_x5_an_awaited_command_replays_by_key_and_a_refusal_is_raised_in_the_coroutine(
    ledger: Ledger, database: Database
) -> None:
    command = _open("Acme")

    async def twice_then_another() -> None:
        first = await ledger.submit(command, "k1")
        again = await ledger.submit(command, "k1")
        assert (again.aggregate_id, again.position, again.replayed) == (
            first.aggregate_id,
            first.position,
            True,
        )
        with pytest.raises(IdempotencyKeyReused):
            await ledger.submit(_open("Other"), "k1")

    asyncio.run(twice_then_another())
    assert _events(database) == 1


def test_r_x5_sync_and_awaited_callers_share_the_writer_and_none_is_lost(
    ledger: Ledger, database: Database
) -> None:
    """Threads that lead (`execute`) and coroutines that queue (`submit`) at the same time:
    every command is answered once, none is lost between the two ways in."""
    threads = [
        threading.Thread(target=ledger.execute, args=(_open(f"T{n}"), f"t/{n}")) for n in range(8)
    ]

    async def queued() -> None:
        await asyncio.gather(*(ledger.submit(_open(f"Q{n}"), f"q/{n}") for n in range(16)))

    for thread in threads:
        thread.start()
    asyncio.run(queued())
    for thread in threads:
        thread.join()
    assert _events(database) == 24


def test_r_x5_the_actor_is_not_part_of_a_commands_fingerprint() -> None:
    """A key lives in its caller's namespace: who acts does not tell two commands apart, and
    fingerprints recorded before commands carried an actor still match (same repr too)."""
    line_id = uuid4()
    by_vendor = line_commands.SendLine(line_id=line_id, actor=VENDOR)
    by_partner = line_commands.SendLine(line_id=line_id, actor=Actor(uuid4()))
    assert by_vendor.fingerprint() == by_partner.fingerprint()
    assert repr(by_vendor) == repr(by_partner)
    assert is_same_command(by_partner, "send_line", by_vendor.fingerprint())


def test_r_x5_the_first_answer_to_a_key_is_asked_before_the_work_a_command_sets_off(
    ledger: Ledger,
) -> None:
    command = _open("Acme")
    assert ledger.bus.first_answer(command, "first") is None
    written = ledger.execute(command, "first")
    again = ledger.bus.first_answer(command, "first")
    assert again is not None
    assert (again.aggregate_id, again.replayed) == (
        written.aggregate_id,
        True,
    )
    with pytest.raises(IdempotencyKeyReused):
        ledger.bus.first_answer(_open("Another"), "first")


def test_r_c8_a_partner_may_act_on_its_own_account_only() -> None:
    own, other = uuid4(), uuid4()
    assert Actor(own).may_act_for(own)
    assert not Actor(own).may_act_for(other)
    assert VENDOR.may_act_for(other)
    assert not Actor(own).may_act_for(None)
