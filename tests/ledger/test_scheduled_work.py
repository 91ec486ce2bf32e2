"""The billing clock's work as the `Work` enum mapped to what does it (ledger/scheduled_work.py).

Pure and instant: the behaviour of each kind is proved by the billing clock's scenario tests.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from ledger.schedule import Work
from ledger.scheduled_work import COMMANDS, ISSUES_INVOICES, work_key

SUBJECT = UUID("00000000-0000-4000-8000-000000000001")
PROCESSOR_WORK = {Work.SETTLE_DEBIT, Work.CHARGE}
"""Work done with the payment processor before any command is written."""


def test_every_kind_of_work_has_a_command_or_talks_to_the_processor() -> None:
    assert set(COMMANDS) | PROCESSOR_WORK == set(Work)
    assert not set(COMMANDS) & PROCESSOR_WORK
    assert set(COMMANDS) >= ISSUES_INVOICES


def test_each_command_carries_the_subject_and_the_business_day_it_was_due() -> None:
    on = date(2026, 3, 2)
    for work, command_for in COMMANDS.items():
        command = command_for(SUBJECT, on)
        values = vars(command)
        assert values["on"] == on, work
        assert SUBJECT in values.values(), work


def test_r_x5_a_piece_of_work_keeps_the_key_it_was_recorded_under() -> None:
    # Work done before this module existed was recorded under these keys: a tick after the
    # upgrade must find them, or it would renew, invoice or charge a second time.
    assert work_key(Work.RENEW, SUBJECT, date(2026, 3, 2)) == (
        "clock/renew/00000000-0000-4000-8000-000000000001/2026-03-02"
    )
    assert work_key(Work.START_BUDGET_PERIOD, SUBJECT, date(2026, 12, 31)) == (
        "clock/start_budget_period/00000000-0000-4000-8000-000000000001/2026-12-31"
    )
