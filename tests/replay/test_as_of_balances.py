"""R-X2 as of any moment: the journal's balances as of a log position equal those of the
partner's aggregates replayed to that position (issue 14; replay/as_of.py).

The journal (projections/balances.py) posts domain/postings.py's rules in SQL; the as-of state
replays the aggregates (their own `apply` bodies) from snapshots. Two independent roads to the
same money: for random histories, at every position where one of a partner's balances moved,
and the position before it, every balance the partner owns or is owed must agree. Three
examples of 50-70 steps, each in a database of its own: about two seconds in all, the
histories being most of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID

from hypothesis import example, given, settings
from hypothesis import strategies as st

from ledger.application import Ledger
from ledger.catalogue import load_catalogue
from ledger.clock import SimulatedClock
from ledger.database import Database
from projections.balances import Balances, balances
from replay.as_of import PartnerThenNotFound, partner_as_of
from tests.histories import make_history
from tests.projections.support import live_runner
from tests.support import START, DatabaseCopies, drop_database

EXAMPLES = 3
RICH_SEED, RICH_STEPS = 3, 70
"""A history known to move money on every kind of account (tests/replay/test_as_of.py uses
it too): the first example, so the property is never proved on histories that moved none."""


@contextmanager
def _history_database(server: Database, copies: DatabaseCopies) -> Iterator[Database]:
    """A copy of the template for one example (made ahead, as each test's is), dropped after."""
    database = copies.take()
    try:
        yield database
    finally:
        drop_database(server, database)


def _journal_balances(database: Database, partner: UUID, position: int) -> dict[str, int]:
    """The partner's own accounts and its payers' receivables, debits minus credits."""
    with database.connect() as conn:
        return {
            f"{row.account_kind}:{row.owner_id}": row.balance_minor
            for row in balances(conn, partner_id=partner, position=position)
            if row.owner_id is not None and row.balance_minor != 0
        }


def _replayed_balances(
    ledger: Ledger, database: Database, partner: UUID, position: int
) -> dict[str, int]:
    """The same accounts from the aggregates replayed to the position, signed as the journal
    signs them (the balance and the wallet are owed to the partner: credits)."""
    with database.connect() as conn:
        try:
            state = partner_as_of(conn, ledger.mapper, partner, position=position)
        except PartnerThenNotFound:
            return {}
    money = state.balances
    found = {
        f"prepaid_balance:{partner}": -money.company_balance_minor,
        f"bonus_liability:{partner}": -money.bonus_wallet_minor,
        **{f"receivable:{payer}": owed for payer, owed in money.receivable_minor.items()},
    }
    return {account: value for account, value in found.items() if value != 0}


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, print_blob=True)
@given(seed=st.integers(0, 2**32 - 1), steps=st.integers(50, 70))
@example(seed=RICH_SEED, steps=RICH_STEPS)
def test_r_x2_journal_balances_as_of_a_position_equal_the_aggregates_replayed_to_it(
    postgres_server: Database, database_copies: DatabaseCopies, seed: int, steps: int
) -> None:
    with _history_database(postgres_server, database_copies) as database:
        clock = SimulatedClock(START)
        ledger = Ledger(database, clock, catalogue=load_catalogue(), pool_size=1)
        try:
            history = make_history(ledger, clock, seed, steps=steps)
            runner = live_runner(database, Balances())
            runner.catch_up()
            runner.close()
            compared = 0
            for partner in history.partners:
                with database.connect() as conn:
                    moved = [
                        row[0]
                        for row in conn.execute(
                            "SELECT DISTINCT position FROM journal WHERE partner_id = %s "
                            "ORDER BY 1",
                            (partner,),
                        )
                    ]
                for position in sorted({*moved, *(p - 1 for p in moved)}):
                    journal = _journal_balances(database, partner, position)
                    replayed = _replayed_balances(ledger, database, partner, position)
                    assert journal == replayed, (str(partner), position)
                    compared += 1
            if (seed, steps) == (RICH_SEED, RICH_STEPS):
                assert compared > 20, "the known history moved too little money to prove much"
        finally:
            ledger.close()
