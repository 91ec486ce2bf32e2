"""A partner's money as it reads it, computed in the read model's query (issue 12: the edge
no longer negates account balances itself), with the top-ups it announced and the vendor has
not confirmed, kept in the same read model (issue 16: the balance read loaded the account from
the event store for them). Short histories, each on its own database copy: with the rebuilds,
about half a second of CPU in all."""

from __future__ import annotations

from uuid import UUID, uuid4

from psycopg import sql

from domain.bonus_wallet import CreditReason
from domain.money import Money
from domain.payment_methods import PaymentSource
from domain.values import VENDOR
from ledger.application import EVENTS_TABLE, Ledger
from ledger.commands.partners import AnnounceTopUp
from ledger.database import Database
from projections import generations
from projections.balances import Balances, partner_money
from projections.base import stage
from replay.rebuild import compare, discard, rebuild, status, swap
from tests.projections.support import live_runner


def test_r_c2_r_c5_r_x2_the_balance_and_the_wallet_read_as_owed_to_the_partner(
    ledger: Ledger, database: Database
) -> None:
    """A bank top-up of 500.00 and a goodwill credit of 20.00 are liabilities (credit
    balances in the journal): the partner reads both as positive; it owes nothing; amounts
    in another currency are not mixed in."""
    partner = ledger.open_partner_account(name="Acme", currency="USD", time_zone="UTC").aggregate_id
    assert partner is not None
    ledger.top_up(partner, Money(500_00, "USD"), PaymentSource.BANK_TRANSFER, reference="W1")
    ledger.grant_bonus(partner, Money(20_00, "USD"), CreditReason.GOODWILL, "Sorry")
    runner = live_runner(database, Balances())
    runner.catch_up()
    runner.close()
    with database.connect() as conn:
        money = partner_money(conn, partner, "USD")
        other_currency = partner_money(conn, partner, "EUR")
    assert (money.company_balance_minor, money.receivable_minor, money.bonus_wallet_minor) == (
        500_00,
        0,
        20_00,
    )
    assert other_currency.company_balance_minor == other_currency.bonus_wallet_minor == 0


# --- the top-ups announced and not yet confirmed (R-C2, R-H2; issue 16) -----------------------


def _announce(
    ledger: Ledger, partner: UUID, amount_minor: int, top_up_id: UUID | None = None
) -> UUID:
    """A bank transfer the partner says it sent; `top_up_id` names it (else a fresh id)."""
    result = ledger.bus.execute(
        AnnounceTopUp(
            partner_id=partner,
            top_up_id=top_up_id or uuid4(),
            amount=Money(amount_minor, "USD"),
            reference="Wire",
            actor=VENDOR,
        ),
        None,
    )
    return UUID(result.data["top_up_id"])


def _open(ledger: Ledger, name: str) -> UUID:
    partner = ledger.open_partner_account(name=name, currency="USD", time_zone="UTC").aggregate_id
    assert partner is not None
    return partner


def _waiting(database: Database, schema: str = "public") -> list[tuple[UUID, UUID, int]]:
    """The announced top-ups the read model holds: partner, top-up id, amount."""
    with database.connect() as conn:
        rows = conn.execute(
            sql.SQL(
                "SELECT partner_id, top_up_id, amount_minor FROM {}.announced_top_ups "
                "ORDER BY partner_id, top_up_id"
            ).format(sql.Identifier(schema))
        ).fetchall()
    return [(p, t, int(a)) for p, t, a in rows]


def _read(database: Database, partner: UUID) -> tuple[int, int]:
    """The company balance and the announced top-ups, as the balance read has them."""
    with database.connect() as conn:
        money = partner_money(conn, partner, "USD")
    return money.company_balance_minor, money.announced_top_ups_minor


def test_r_c2_r_h2_an_announced_top_up_is_read_until_confirmed_whatever_the_batches(
    ledger: Ledger, database: Database
) -> None:
    """Announced: read apart from the balance; confirmed in a later batch or in its own: gone,
    and on the balance; another partner's stay its own. Rebuilt in one batch (every
    announcement with its confirmation) or one event a batch, the table is the same."""
    acme, other = _open(ledger, "Acme"), _open(ledger, "Other")
    runner = live_runner(database, Balances())
    first = _announce(ledger, acme, 100_00)
    others = _announce(ledger, other, 7_00)
    runner.catch_up()
    assert (_read(database, acme), _read(database, other)) == ((0, 100_00), (0, 7_00))

    ledger.confirm_top_up(acme, first)  # in a later batch than its announcement
    kept = _announce(ledger, acme, 30_00)
    runner.catch_up()
    assert _read(database, acme) == (100_00, 30_00)

    both = _announce(ledger, acme, 40_00)
    ledger.confirm_top_up(acme, both)  # in the same batch as its announcement
    runner.catch_up()
    runner.close()
    assert _read(database, acme) == (140_00, 30_00)
    assert ledger.partner_account(acme).announced_total == Money(30_00, "USD")
    assert _read(database, other) == (0, 7_00)
    assert _waiting(database) == sorted([(acme, kept, 30_00), (other, others, 7_00)])

    for batch_size in (5_000, 1):
        rebuilt = rebuild(database, Balances(), batch_size=batch_size)
        difference = compare(database, Balances(), rebuilt.generation)
        assert "announced_top_ups" in {table.table for table in difference.tables}
        assert difference.empty, difference
        discard(database, Balances(), rebuilt.generation)


def test_r_c2_a_top_up_announced_again_waits_again_and_a_batch_applied_twice_changes_nothing(
    ledger: Ledger, database: Database
) -> None:
    """The account takes an id announced again once its transfer was confirmed (it keeps only
    those waiting): the read model shows it waiting, with its new amount, as the account does.
    Its statements applied again to the whole log (a batch after a crash) change no row."""
    acme = _open(ledger, "Acme")
    runner = live_runner(database, Balances())
    top_up = _announce(ledger, acme, 100_00)
    runner.catch_up()
    ledger.confirm_top_up(acme, top_up)
    _announce(ledger, acme, 25_00, top_up)
    runner.catch_up()
    runner.close()
    assert ledger.partner_account(acme).announced_total == Money(25_00, "USD")
    assert _read(database, acme) == (100_00, 25_00)
    applied = _waiting(database)

    announced = [s for s in Balances.statements if "announced_top_ups" in s]
    with database.connect() as conn:
        live = generations.live(conn, Balances.name)
        assert live is not None
        stage(conn)
        with conn.transaction():
            conn.execute(
                sql.SQL(
                    "INSERT INTO batch_events SELECT notification_id, originator_id, "
                    "originator_version, topic, event, ll_instant(event -> 'timestamp') FROM {}"
                ).format(sql.Identifier(EVENTS_TABLE))
            )
            for _ in range(2):
                for statement in announced:
                    conn.execute(
                        Balances().render(statement, live.generation),
                        {"lo": 0, "hi": live.position},
                    )
    assert len(announced) == 2
    assert _waiting(database) == applied == [(acme, top_up, 25_00)]
    rebuilt = rebuild(database, Balances())  # both announcements and the confirmation at once
    assert compare(database, Balances(), rebuilt.generation).empty


def test_r_c2_a_balances_model_of_version_3_needs_a_rebuild_that_brings_the_announced_top_ups(
    ledger: Ledger, database: Database
) -> None:
    """A deployment upgraded from version 3 (no `announced_top_ups`) is told to rebuild the
    balances read model, and the rebuilt one has the transfers announced before the upgrade."""
    acme = _open(ledger, "Acme")
    top_up = _announce(ledger, acme, 100_00)
    runner = live_runner(database, Balances())
    runner.catch_up()
    runner.close()
    with database.connect() as conn:  # the generation version 3 built
        conn.execute("DROP TABLE rm_balances_1.announced_top_ups CASCADE")
        conn.execute("UPDATE projection_generations SET version = 3 WHERE projection = 'balances'")
        [model] = [m for m in status(conn) if m.name == Balances.name]
    assert model.needs_rebuild

    rebuilt = rebuild(database, Balances())
    difference = compare(database, Balances(), rebuilt.generation)
    swap(database, Balances(), rebuilt.generation)

    [added] = [t for t in difference.tables if not t.empty]
    assert (added.table, added.added, added.removed, added.changed) == (
        "announced_top_ups",
        1,
        0,
        0,
    )
    assert _waiting(database) == [(acme, top_up, 100_00)]
    assert _read(database, acme) == (0, 100_00)
