"""The read models' amount columns hold every figure the domain allows (R-X1, issue 11).

A column that holds one amount, or a sum one aggregate keeps within a bound of
domain/money.py (an invoice's total, paid or credited), is a bigint: 2^63 - 1 is over 9,000
times AMOUNT_MAX_MINOR. A column that sums without end (an account's lifetime debits, a
partner's lifetime cashback) is numeric: no count of events can overflow it."""

from __future__ import annotations

from api.runtime import Runtime
from domain.money import AMOUNT_MAX_MINOR, BUDGET_MAX_MINOR

BIGINT_MAX = 2**63 - 1
LIFETIME_SUMS = {
    ("account_balances", "debit_minor"),
    ("account_balances", "credit_minor"),
    ("cashback_wallets", "earned_minor"),
    ("cashback_wallets", "spent_minor"),
    ("cashback_wallets", "clawed_back_minor"),
    ("cashback_wallets", "shortfall_minor"),
    ("cashback_earnings", "earned_minor"),
}
"""Running totals over every event of an account or a partner, however many there are."""


def test_r_x1_every_amount_column_holds_what_the_domain_allows(runtime: Runtime) -> None:
    with runtime.database.connect() as conn:
        rows = conn.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema LIKE 'rm\\_%%' AND column_name LIKE '%%\\_minor'"
        ).fetchall()
    types = {(str(t), str(c)): str(d) for t, c, d in rows}

    assert types.keys() >= LIFETIME_SUMS
    assert {column: types[column] for column in LIFETIME_SUMS} == dict.fromkeys(
        LIFETIME_SUMS, "numeric"
    )
    assert set(types.values()) <= {"bigint", "numeric"}
    # The largest figure a bigint column holds: one amount, or a budget period's spending
    # (the budget plus one lead); an invoice's paid or credited never pass its total.
    assert BUDGET_MAX_MINOR + AMOUNT_MAX_MINOR <= BIGINT_MAX
