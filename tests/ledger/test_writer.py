"""The writer: commands in batches, each atomic, idempotent (R-X5) and numbered without gaps
(R-X3); a refused command writes nothing; a stale cache never causes a wrong write."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from eventsourcing.domain import Aggregate, event

from domain.billing_policy import POLICY_ID
from domain.errors import BillingError, LineNotFound, UnknownCurrency
from domain.money import Money
from domain.partner_account import PartnerAccount
from domain.payment_methods import PaymentSource
from ledger.application import Ledger
from ledger.commands.base import LedgerCommand
from ledger.commands.partners import RemoveClientFromUnifiedBilling
from ledger.database import Database
from ledger.errors import IdempotencyKeyReused
from ledger.unit_of_work import UnitOfWork
from tests.support import NOT_CATALOGUE, NOT_CATALOGUE_IMPORT

THREADS = 8


def count(database: Database, sql: str) -> int:
    with database.connect() as conn:
        row = conn.execute(sql).fetchone()
    assert row is not None
    return int(row[0])


def events(database: Database) -> int:
    return count(database, f"SELECT count(*) FROM ledger_events WHERE {NOT_CATALOGUE}")


def open_partner(ledger: Ledger, key: str | None = None, name: str = "Acme") -> PartnerAccount:
    result = ledger.open_partner_account(
        name=name, currency="USD", time_zone="America/New_York", key=key
    )
    assert result.aggregate_id is not None
    return ledger.partner_account(result.aggregate_id)


def test_r_x5_a_repeated_key_returns_the_first_answer_and_writes_nothing(
    ledger: Ledger, database: Database
) -> None:
    first = ledger.open_partner_account(
        name="Acme", currency="USD", time_zone="UTC", key="open-acme"
    )
    written = events(database)
    again = ledger.open_partner_account(
        name="Acme", currency="USD", time_zone="UTC", key="open-acme"
    )
    assert (again.aggregate_id, again.position, again.replayed) == (
        first.aggregate_id,
        first.position,
        True,
    )
    assert events(database) == written
    assert count(database, f"SELECT count(*) FROM command_log WHERE {NOT_CATALOGUE_IMPORT}") == 1


def test_r_x5_a_key_reused_for_another_command_is_refused(ledger: Ledger) -> None:
    ledger.open_partner_account(name="Acme", currency="USD", time_zone="UTC", key="k-1")
    with pytest.raises(IdempotencyKeyReused) as refused:
        ledger.open_partner_account(name="Other", currency="USD", time_zone="UTC", key="k-1")
    assert refused.value.code == "idempotency_key_reused"


def test_r_x5_two_copies_at_the_same_moment_write_once(ledger: Ledger, database: Database) -> None:
    results: list[object] = []
    barrier = threading.Barrier(THREADS)

    def send() -> None:
        barrier.wait()
        results.append(
            ledger.open_partner_account(
                name="Acme", currency="USD", time_zone="UTC", key="same-moment"
            )
        )

    threads = [threading.Thread(target=send) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({result.aggregate_id for result in results}) == 1  # type: ignore[attr-defined]
    assert events(database) == 1
    assert sum(not result.replayed for result in results) == 1  # type: ignore[attr-defined]


def test_a_refused_command_writes_nothing_and_its_batch_neighbours_land(
    ledger: Ledger, database: Database
) -> None:
    good, bad = [], []
    barrier = threading.Barrier(THREADS)

    def send(n: int) -> None:
        barrier.wait()
        try:
            good.append(
                ledger.open_partner_account(
                    name=f"P{n}", currency="XYZ" if n % 2 else "USD", time_zone="UTC"
                )
            )
        except UnknownCurrency as refusal:
            bad.append(refusal)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (len(good), len(bad)) == (THREADS // 2, THREADS // 2)
    assert events(database) == THREADS // 2
    assert (
        count(database, f"SELECT count(*) FROM command_log WHERE {NOT_CATALOGUE_IMPORT}")
        == THREADS // 2
    )


class Scribble(Aggregate):
    """An aggregate of the test's own, whose text the domain does not clean."""

    @event("Written")
    def __init__(self, text: str) -> None:
        self.text = text


@dataclass(frozen=True, kw_only=True)
class WriteScribble(LedgerCommand):
    text: str

    def handle(self, uow: UnitOfWork) -> tuple[UUID | None, dict[str, Any]]:
        scribble = Scribble(text=self.text)
        uow.add(scribble)
        return scribble.id, {}


def test_a_command_the_database_refuses_fails_alone_and_its_batch_neighbours_land(
    ledger: Ledger, database: Database
) -> None:
    # PostgreSQL's jsonb refuses \u0000: the whole batch's transaction fails, and the writer
    # writes its commands again one by one, so only the culprit's caller hears of it.
    good: list[object] = []
    bad: list[BaseException] = []
    barrier = threading.Barrier(THREADS)

    def send(n: int) -> None:
        barrier.wait()
        try:
            if n % 2:
                ledger.execute(WriteScribble(text=f"nul\x00{n}"))
            else:
                good.append(
                    ledger.open_partner_account(name=f"P{n}", currency="USD", time_zone="UTC")
                )
        except psycopg.Error as refusal:
            bad.append(refusal)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not any(thread.is_alive() for thread in threads)
    assert (len(good), len(bad)) == (THREADS // 2, THREADS // 2)
    assert events(database) == THREADS // 2


def test_a_command_failing_halfway_leaves_no_trace_in_memory_or_store(
    ledger: Ledger, database: Database
) -> None:
    account = open_partner(ledger)
    client = ledger.register_client(account.id, name="Bistro").aggregate_id
    assert client is not None
    written = events(database)
    # The account changes first; then one of the named lines does not exist.
    halfway = RemoveClientFromUnifiedBilling(
        partner_id=account.id, client_id=client, line_ids=(uuid4(),)
    )
    with pytest.raises(LineNotFound):
        ledger.execute(halfway)
    assert events(database) == written
    # The writer forgot the half-changed account: to it, the client is still in unified
    # billing, so removing it properly now succeeds instead of being refused as done.
    ledger.remove_client_from_unified_billing(account.id, client)
    assert not ledger.partner_account(account.id).client(client).unified_billing


def test_a_cache_made_stale_by_another_process_is_reloaded(
    ledger: Ledger, second_process: Ledger
) -> None:
    account = open_partner(ledger)
    usd = Money(5_000, "USD")
    ledger.top_up(account.id, usd, PaymentSource.BANK_TRANSFER, reference="a")  # cached here
    second_process.top_up(account.id, usd, PaymentSource.BANK_TRANSFER, reference="b")
    ledger.top_up(account.id, usd, PaymentSource.BANK_TRANSFER, reference="c")
    reloaded = ledger.partner_account(account.id)
    assert (reloaded.balance, reloaded.version) == (Money(15_000, "USD"), 4)


def test_an_id_found_absent_is_looked_for_again_once_another_process_wrote_it(
    ledger: Ledger, second_process: Ledger
) -> None:
    """The cache remembers that the store had no policy history (every command reads it), and
    forgets that as soon as another process writes one: this writer's next change must build
    on the other's version 1, not start a second history (a lost write, or a conflict)."""
    today = ledger.clock.now().date()
    account = open_partner(ledger)
    client = ledger.register_client(account.id, name="Bistro").aggregate_id
    assert client is not None
    line = ledger.create_line(account.id, client, "service-plan").aggregate_id
    assert line is not None
    ledger.activate_line(line)  # billing the period reads the policy in force: none changed
    assert ledger.writer.cache.is_absent(POLICY_ID)
    second_process.schedule_policy_change({"card_fee_rate": "0.025"}, today + timedelta(days=10))
    later = ledger.schedule_policy_change({"cashback_rate": "0.05"}, today + timedelta(days=20))
    assert later.data["version"] == 2


def test_r_x3_invoice_numbers_stay_gapless_with_many_issuers(
    ledger: Ledger, second_process: Ledger, database: Database
) -> None:
    account = open_partner(ledger)
    client = ledger.register_client(account.id, name="Bistro", unified_billing=False)
    assert client.aggregate_id is not None
    lines = [
        ledger.create_line(account.id, client.aggregate_id, "service-plan").aggregate_id
        for _ in range(2 * THREADS)
    ]
    errors: list[BaseException] = []
    barrier = threading.Barrier(2 * THREADS)

    def activate(target: Ledger, line_id: object) -> None:
        barrier.wait()
        try:
            target.activate_line(line_id)  # type: ignore[arg-type]
        except BillingError as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [
        threading.Thread(target=activate, args=(ledger if n % 2 else second_process, line_id))
        for n, line_id in enumerate(lines)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with database.connect() as conn:
        issued = sorted(
            int(number.rsplit("-", 1)[1])
            for (number,) in conn.execute(
                "SELECT convert_from(state, 'UTF8')::jsonb->>'number' FROM ledger_events "
                "WHERE topic LIKE %s",
                ("%Invoice.Issued",),
            )
        )
    assert issued == list(range(1, 2 * THREADS + 1))


def test_r_x3_a_refused_command_that_drew_the_first_number_of_a_series_writes_nothing(
    ledger: Ledger, database: Database
) -> None:
    """A credit note drawing the first number of its series, then refused (the invoice is
    void), leaves the number series as it was: no row for the series it never used. Found
    twice, by tests/ledger/test_stateful.py and by tests/api/test_hostile_input.py's soak: the
    series' row was created when the number was drawn."""
    account = open_partner(ledger)
    voided = billed_invoice(ledger, account)
    ledger.void_invoice(voided, "issued by mistake")
    before = number_series(database)

    with pytest.raises(BillingError) as refused:
        ledger.issue_credit_note(voided, Money(100, "USD"), "price adjusted")

    assert refused.value.code == "invoice_voided"
    assert number_series(database) == before == [("INV-2026", 1)]
    # Numbers drawn by accepted commands still land, in a new series and in a known one.
    ledger.issue_credit_note(billed_invoice(ledger, account), Money(100, "USD"), "adjusted")
    assert number_series(database) == [("CN-2026", 1), ("INV-2026", 2)]


def billed_invoice(ledger: Ledger, account: PartnerAccount) -> UUID:
    """The first invoice of a new line of a new client."""
    client = ledger.register_client(account.id, name="Bistro", unified_billing=False)
    assert client.aggregate_id is not None
    line = ledger.create_line(account.id, client.aggregate_id, "service-plan")
    assert line.aggregate_id is not None
    return UUID(ledger.activate_line(line.aggregate_id).data["invoice_id"])


def number_series(database: Database) -> list[tuple[str, int]]:
    with database.connect() as conn:
        rows = conn.execute("SELECT series, last FROM number_series ORDER BY series").fetchall()
    return [(str(series), int(last)) for series, last in rows]


def test_partner_accounts_are_snapshotted_and_load_the_same(
    ledger: Ledger, database: Database
) -> None:
    account = open_partner(ledger)
    for n in range(210):
        ledger.top_up(account.id, Money(100, "USD"), PaymentSource.BANK_TRANSFER, reference=f"w{n}")
    assert count(database, "SELECT count(*) FROM ledger_snapshots") == 1
    loaded = ledger.partner_account(account.id)
    assert (loaded.version, loaded.balance) == (211, Money(21_000, "USD"))
