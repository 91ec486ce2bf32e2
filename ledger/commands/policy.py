"""Commands on the billing policy: scheduling a change of its rates and periods."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from domain.billing_policy import PolicyHistory
from domain.errors import PolicyChangeNotPermitted
from ledger.commands.base import LedgerCommand, context, policy_history
from ledger.unit_of_work import UnitOfWork

Answer = tuple[UUID | None, dict[str, Any]]


@dataclass(frozen=True, kw_only=True)
class SchedulePolicyChange(LedgerCommand):
    """The vendor changes rates or periods of the billing policy from a future business date
    on: the next version of the policy (`card fee 2.5 % from 2027-03-01`)."""

    effective_from: date
    changes: tuple[tuple[str, str], ...]
    """(field, value as text) pairs, such as ("card_fee_rate", "0.025")."""

    def handle(self, uow: UnitOfWork) -> Answer:
        if self.actor.partner_id is not None:
            raise PolicyChangeNotPermitted("Only the vendor changes the billing policy.")
        history = policy_history(uow)
        if history is None:
            history = PolicyHistory.start(uow.now)
            uow.add(history)
        change = history.schedule(
            dict(self.changes), self.effective_from, context(uow).base_policy, uow.now
        )
        return history.id, {
            "version": change.version,
            "effective_from": change.effective_from.isoformat(),
            "changes": dict(change.changes),
        }
