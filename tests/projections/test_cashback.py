"""Cashback (R-C4, R-C5): the read model's figures are the bonus wallet's, per partner, and what
was earned is kept per client and per business month."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from uuid import UUID

import pytest

from domain.bonus_wallet import BonusWallet, CreditReason
from domain.calendar import Term
from domain.payment_methods import PaymentSource
from domain.values import Payer, bonus_wallet_id
from ledger.application import Ledger
from ledger.clock import SimulatedClock
from ledger.database import Database
from projections.cashback import (
    Cashback,
    ClientMonthCashback,
    PartnerCashback,
    cashback_by_client_month,
    cashback_of,
)
from tests.histories import make_history
from tests.projections.chatapp_support import LINE, TWELVE, buy, catch_up, client, open_partner, rub
from tests.projections.support import logged_events

BANK, BALANCE, BONUS = (
    PaymentSource.BANK_TRANSFER,
    PaymentSource.COMPANY_BALANCE,
    PaymentSource.BONUS,
)
JANUARY, MARCH = date(2026, 1, 1), date(2026, 3, 1)
CASHBACK = CreditReason.CASHBACK.value


def wallet_figures(wallet: BonusWallet) -> tuple[int, int, int, int, int]:
    return (
        wallet.earned.amount_minor,
        wallet.spent.amount_minor,
        wallet.clawed_back.amount_minor,
        wallet.clawback_shortfall.amount_minor,
        wallet.balance.amount_minor,
    )


def figures(found: PartnerCashback) -> tuple[int, int, int, int, int]:
    return (
        found.earned_minor,
        found.spent_minor,
        found.clawed_back_minor,
        found.shortfall_minor,
        found.available_minor,
    )


@pytest.mark.parametrize("seed", [5, 19, 22])
def test_r_c4_r_c5_a_partners_cashback_is_its_wallet_for_random_histories(
    ledger: Ledger, clock: SimulatedClock, database: Database, seed: int
) -> None:
    history = make_history(ledger, clock, seed, steps=70)
    catch_up(database, Cashback())
    credited: Counter[tuple[UUID, UUID | None, date, str]] = Counter()
    for _, event in logged_events(ledger, database):
        if isinstance(event, BonusWallet.Credited):
            month = event.credited_on.replace(day=1)
            credited[(event.partner_id, event.client_id, month, event.reason.value)] += (
                event.amount.amount_minor
            )
    assert credited, "the history earned no cashback"

    with database.connect() as conn:
        for partner in history.partners:
            wallet = ledger.load(BonusWallet, bonus_wallet_id(partner))
            found = cashback_of(conn, partner)
            if wallet is None:
                assert found is None
                continue
            assert found is not None
            assert figures(found) == wallet_figures(wallet)
            assert found.available == wallet.balance
            by_month = {
                (partner, row.client_id, row.month, row.reason): row.earned_minor
                for row in cashback_by_client_month(conn, partner)
            }
            assert by_month == {key: v for key, v in credited.items() if key[0] == partner}


def test_r_c4_cashback_is_earned_per_client_and_business_month(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    partner = open_partner(ledger, "p1", "Интегратор Плюс")
    ledger.top_up(partner, rub(200000), BANK, key="top-up")
    lotus = client(ledger, partner, "Салон Лотос")
    pilates = client(ledger, partner, "Студия Пилатес")
    cafe = client(ledger, partner, "Кофейня Зерно")
    own = buy(ledger, partner, lotus, "lotus", term=Term.TWELVE_MONTHS, payer=Payer.CLIENT)
    ledger.pay_invoice(own.id, BANK, key="lotus/pay")
    studio = buy(ledger, partner, pilates, "pilates", payer=Payer.CLIENT)
    ledger.pay_invoice(studio.id, BANK, key="pilates/pay")
    partners_own = buy(ledger, partner, cafe, "cafe")  # the partner pays: no cashback
    ledger.pay_invoice(partners_own.id, BANK, key="cafe/pay")
    from_balance = buy(ledger, partner, cafe, "cafe/own", payer=Payer.CLIENT)
    ledger.pay_invoice(from_balance.id, BALANCE, key="cafe/own/pay")  # the partner's money
    # 22:30 UTC on 28 February is already 1 March in Moscow: the business month is March.
    clock.set(datetime(2026, 2, 28, 22, 30, tzinfo=UTC))
    march = buy(ledger, partner, pilates, "pilates/2", payer=Payer.CLIENT)
    ledger.pay_invoice(march.id, BANK, key="pilates/2/pay")

    catch_up(database, Cashback())
    with database.connect() as conn:
        months = cashback_by_client_month(conn, partner)
        total = cashback_of(conn, partner)
    assert set(months) == {
        ClientMonthCashback(lotus, JANUARY, CASHBACK, "RUB", TWELVE // 10),
        ClientMonthCashback(pilates, JANUARY, CASHBACK, "RUB", LINE // 10),
        ClientMonthCashback(pilates, MARCH, CASHBACK, "RUB", LINE // 10),
    }
    assert [row.month for row in months] == [JANUARY, JANUARY, MARCH]
    assert total is not None
    assert total.earned_minor == TWELVE // 10 + 2 * (LINE // 10)


def test_r_c5_bonuses_are_the_partners_spent_on_any_line_and_clawed_back_as_far_as_held(
    ledger: Ledger, database: Database
) -> None:
    partner = open_partner(ledger, "p1", "Интегратор Плюс")
    other = open_partner(ledger, "p2", "Чат Сервис")
    lotus = client(ledger, partner, "Салон Лотос")
    garage = client(ledger, partner, "Автосервис Гараж")
    own = buy(ledger, partner, lotus, "lotus", term=Term.TWELVE_MONTHS, payer=Payer.CLIENT)
    ledger.pay_invoice(own.id, BANK, key="lotus/pay")  # 162 000 of cashback, the partner's
    garages = buy(ledger, partner, garage, "garage")  # a client that earned nothing
    ledger.pay_invoice(garages.id, BONUS, key="garage/pay")  # 150 000 spent: 12 000 left
    payment_id = UUID(next(iter(ledger.invoice(own.id).payments)))
    # Refunding 200 000 owes back 20 000 of cashback; the wallet holds 12 000 of it.
    ledger.refund(own.id, payment_id, rub(200000), "two months unused", key="refund")

    catch_up(database, Cashback())
    with database.connect() as conn:
        found = cashback_of(conn, partner)
        nothing = cashback_of(conn, other)
        months = cashback_by_client_month(conn, partner)
    wallet = ledger.load(BonusWallet, bonus_wallet_id(partner))
    assert wallet is not None
    assert found is not None
    assert figures(found) == (162000, LINE, 12000, 8000, 0) == wallet_figures(wallet)
    assert found.available == rub(0)
    assert nothing is None
    assert [(row.client_id, row.earned_minor) for row in months] == [(lotus, 162000)]
