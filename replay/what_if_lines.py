"""An issued invoice's lines decided again under a proposal (what-if, issue 14): product lines
at a proposed price (the periods that start from its first day on, prorated as they were:
domain/pricing.py `period_price`), and each duration discount on them (R-C3,
`duration_discount_line`), at the rate of the version the line names with the proposed values.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date
from typing import Any
from uuid import UUID

from domain.billing_policy import DISCOUNT_PREFIX
from domain.calendar import BillingPeriod, Term
from domain.money import Money
from domain.pricing import BillingPolicy, duration_discount_line, period_price
from domain.values import InvoiceLine, InvoiceLineKind
from ledger.transcodings import LedgerTranscoder
from replay.what_if_events import (
    InvoiceState,
    LineFact,
    LoggedEvent,
    Proposal,
    Redecided,
    minor,
    money_json,
    text_of,
)


class IssuedLines(ABC):
    """The part of the re-decision that reads and writes an invoice's lines when issued."""

    proposal: Proposal
    lines: Mapping[UUID, Sequence[LineFact]]
    transcoder: LedgerTranscoder
    invoices: dict[UUID, InvoiceState]
    result: Redecided

    @abstractmethod
    def policy(self, version: int | None, day: date) -> BillingPolicy:
        """The policy version recorded (or in force on `day`), with the proposal applied."""

    def _issued(self, logged: LoggedEvent) -> None:
        event = logged.event
        lines: list[dict[str, Any]] = list(event["lines"]["_data_"])
        decoded = [self._line(line) for line in lines]
        currency = str(event["total"]["_data_"]["currency"])
        changed = False
        for index, line in enumerate(decoded):
            repriced = self._repriced(line, logged)
            if repriced is not None and repriced.amount != line.amount:
                changed = True
                decoded[index] = repriced
                lines[index] = {
                    **lines[index],
                    "_data_": {
                        **lines[index]["_data_"],
                        "amount": money_json(repriced.amount.amount_minor, currency),
                    },
                }
        for index, line in enumerate(decoded):
            if line.kind is InvoiceLineKind.DISCOUNT:
                new = self._discount(
                    decoded, line.line_id, line.period, line.policy_version, logged
                )
                amount = new.amount.amount_minor if new else 0
                if amount != line.amount.amount_minor:
                    changed = True
                    lines[index] = self._encoded(new) if new else {}
        if self._discounts_may_appear():
            for line_id, period in self._undiscounted(decoded):
                if not self.proposal.applies_on(period.start):
                    continue  # the recorded rules gave none: so does the version in force
                new = self._discount(decoded, line_id, period, None, logged)
                if new is not None:
                    changed = True
                    lines.append(self._encoded(new))
        lines = [line for line in lines if line]
        old_total = minor(event["total"])
        new_total = sum(minor(line["_data_"]["amount"]) for line in lines)
        self.invoices[logged.originator_id] = InvoiceState(
            currency=currency,
            payer=text_of(event["payer"]),
            partner_id=UUID(text_of(event["partner_id"])),
            old_total=old_total,
            new_total=new_total,
        )
        if changed:
            event["lines"] = {**event["lines"], "_data_": lines}
            event["total"] = money_json(new_total, currency)
            self.result.update(logged)

    def _discounts_may_appear(self) -> bool:
        return any(name.startswith(DISCOUNT_PREFIX) for name in self.proposal.changes)

    @staticmethod
    def _undiscounted(lines: list[InvoiceLine]) -> list[tuple[UUID, BillingPeriod]]:
        charged = {
            (line.line_id, line.period)
            for line in lines
            if line.kind is InvoiceLineKind.PRODUCT and line.line_id and line.period
        }
        discounted = {
            (line.line_id, line.period) for line in lines if line.kind is InvoiceLineKind.DISCOUNT
        }
        return sorted(
            ((line_id, period) for line_id, period in charged - discounted if line_id and period),
            key=str,
        )

    def _discount(
        self,
        lines: list[InvoiceLine],
        line_id: UUID | None,
        period: BillingPeriod | None,
        version: int | None,
        logged: LoggedEvent,
    ) -> InvoiceLine | None:
        """R-C3 again: the discount on this line's product lines for this period."""
        if line_id is None or period is None:
            return None
        products = [
            line
            for line in lines
            if line.kind is InvoiceLineKind.PRODUCT
            and line.line_id == line_id
            and line.period == period
        ]
        policy = self.policy(version, period.start)
        term = self._term(line_id, logged.position)
        if term is None:
            return None
        line = duration_discount_line(products, term, policy, line_id, period)
        return None if line is None else replace(line, policy_version=policy.version)

    def _term(self, line_id: UUID, position: int) -> Term | None:
        known = [f.term for f in self.lines.get(line_id, ()) if f.position <= position and f.term]
        return known[-1] if known else None

    def _anchor_day(self, line_id: UUID, position: int) -> int | None:
        known = [
            f.anchor_day
            for f in self.lines.get(line_id, ())
            if f.position <= position and f.anchor_day
        ]
        return known[-1] if known else None

    def _repriced(self, line: InvoiceLine, logged: LoggedEvent) -> InvoiceLine | None:
        """A product line at the proposed unit price for its period, prorated as it was (the
        price in force on the period's first day); None if no proposed price applies to it.
        A partner's override keeps the line at its recorded price."""
        if line.kind is not InvoiceLineKind.PRODUCT or line.price_override or not line.period:
            return None
        currency = line.amount.currency
        price = self.proposal.price_on(line.product_code, currency, line.period.start)
        term = self._term(line.line_id, logged.position) if line.line_id else None
        if price is None or term is None or line.line_id is None:
            return None
        anchor_day = self._anchor_day(line.line_id, logged.position) or line.period.start.day
        amount = period_price(Money(price, currency), term, line.period, anchor_day)
        return replace(line, amount=amount)

    def _line(self, line: dict[str, Any]) -> InvoiceLine:
        decoded = self.transcoder.decode(json.dumps(line).encode())
        if not isinstance(decoded, InvoiceLine):  # pragma: no cover - the log's own shape
            raise TypeError("an invoice line")
        return decoded

    def _encoded(self, line: InvoiceLine) -> dict[str, Any]:
        encoded: dict[str, Any] = json.loads(self.transcoder.encode(line))
        return encoded
