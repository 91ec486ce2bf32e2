"""A partner's money as it reads it, computed in the read model's query (issue 12: the edge
no longer negates account balances itself). One short history on its own database copy."""

from __future__ import annotations

from domain.bonus_wallet import CreditReason
from domain.money import Money
from domain.payment_methods import PaymentSource
from ledger.application import Ledger
from ledger.database import Database
from projections.balances import Balances, partner_money
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
