"""What the billing clock must do and when, kept beside the events (inline projections).

After each batch, every aggregate it changed is asked what work it now has due, and its rows
in `schedule` are replaced: `due_work` is a pure function of the aggregate's state, so the
schedule can always be rebuilt from the events. The same goes for `line_index` (a partner's
lines) and `open_invoices` (what is still owed), which commands use to find their work.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

import psycopg

from domain.billing_policy import POLICY_ID, PolicyField, PolicyHistory, policy_on
from domain.calendar import add_business_days, next_friday
from domain.invoice import Invoice, InvoiceStatus
from domain.partner_account import PartnerAccount, PauseReason
from domain.payment_methods import PaymentSource
from domain.pricing import BillingPolicy, PriceUnit
from domain.subscription_line import LineStatus, SubscriptionLine
from domain.values import Payer
from ledger.command_records import Lookup

ACH_SETTLEMENT_CHECK_BUSINESS_DAYS = 2
"""A direct debit is looked at this many of the partner's business days after it was
submitted, and at every tick after that until it has settled or bounced."""


class Work(StrEnum):
    """Kinds of scheduled work, in the order the clock does them on the same day."""

    SETTLE_DEBIT = "settle_debit"
    COMPLETE_TRANSFER = "complete_transfer"
    START_BUDGET_PERIOD = "start_budget_period"
    ACTIVATE = "activate"
    RENEW = "renew"
    INVOICE_AHEAD = "invoice_ahead"
    INVOICE_LEADS = "invoice_leads"
    UNIFIED_INVOICE = "unified_invoice"
    CHARGE = "charge"
    MARK_OVERDUE = "mark_overdue"
    EXPIRE_GRACE = "expire_grace"


ORDER = {work.value: index for index, work in enumerate(Work)}


@dataclass(frozen=True)
class Due:
    """A piece of work the billing clock will do: on a business day in the partner's zone,
    which begins at the instant `due_at`."""

    kind: str
    subject_id: UUID
    partner_id: UUID
    due_on: date
    due_at: datetime


def upcoming(
    conn: psycopg.Connection[Any],
    *,
    partner_id: UUID | None = None,
    subject_id: UUID | None = None,
    limit: int = 100,
) -> list[Due]:
    """The next work due (of one partner, or of one line, invoice or account), soonest first."""
    rows = conn.execute(
        "SELECT kind, subject_id, partner_id, due_on, "
        "(due_on::timestamp AT TIME ZONE time_zone) AS due_at FROM schedule "
        "WHERE (%(partner)s::uuid IS NULL OR partner_id = %(partner)s) "
        "AND (%(subject)s::uuid IS NULL OR subject_id = %(subject)s) "
        "ORDER BY due_at, array_position(%(order)s::text[], kind), subject_id LIMIT %(limit)s",
        {"partner": partner_id, "subject": subject_id, "order": list(ORDER), "limit": limit},
    ).fetchall()
    return [
        Due(str(kind), UUID(str(subject)), UUID(str(partner)), due_on, due_at)
        for kind, subject, partner, due_on, due_at in rows
    ]


def partner_schedule(
    conn: psycopg.Connection[Any],
    partner_id: UUID,
    *,
    after: tuple[date, Work, UUID] | None,
    limit: int,
) -> list[Due]:
    """Up to `limit` of a partner's scheduled work after `after` (keyset: business day, the
    order the clock works in, subject), soonest first. One partner has one time zone, so its
    business days order its work as their instants do."""
    start = (after[0], ORDER[after[1].value] + 1, after[2]) if after else None
    rows = conn.execute(
        "SELECT kind, subject_id, partner_id, due_on, "
        "(due_on::timestamp AT TIME ZONE time_zone) AS due_at FROM schedule "
        "WHERE partner_id = %(partner)s AND (%(day)s::date IS NULL OR "
        "(due_on, array_position(%(order)s::text[], kind), subject_id) "
        "> (%(day)s, %(rank)s, %(subject)s)) "
        "ORDER BY due_on, array_position(%(order)s::text[], kind), subject_id LIMIT %(limit)s",
        {
            "partner": partner_id,
            "day": start[0] if start else None,
            "rank": start[1] if start else None,
            "subject": start[2] if start else None,
            "order": list(ORDER),
            "limit": limit,
        },
    ).fetchall()
    return [
        Due(str(kind), UUID(str(subject)), UUID(str(partner)), due_on, due_at)
        for kind, subject, partner, due_on, due_at in rows
    ]


def next_due_at(conn: psycopg.Connection[Any]) -> datetime | None:
    """The instant the billing clock next has something to do, if anything is scheduled."""
    row = conn.execute(
        "SELECT min(due_on::timestamp AT TIME ZONE time_zone) FROM schedule"
    ).fetchone()
    return row[0] if row else None


PolicyOn = Callable[[date], BillingPolicy]
"""The version of the billing policy in force on a business date."""


def due_work(
    aggregate: Any, policy_for: PolicyOn, account: PartnerAccount | None = None
) -> list[tuple[Work, date]]:
    """The work an aggregate has due, by kind, on the business day it is due."""
    if isinstance(aggregate, SubscriptionLine):
        return _line(aggregate, policy_for, account)
    if isinstance(aggregate, Invoice):
        return _invoice(aggregate)
    if isinstance(aggregate, PartnerAccount):
        return _account(aggregate)
    return []


def _line(
    line: SubscriptionLine, policy_for: PolicyOn, account: PartnerAccount | None
) -> list[tuple[Work, date]]:
    work: list[tuple[Work, date]] = []
    if line.transfer_effective_on is not None:
        work.append((Work.COMPLETE_TRANSFER, line.transfer_effective_on))
    if line.starts_on is not None and line.status in (LineStatus.DRAFT, LineStatus.PENDING):
        work.append((Work.ACTIVATE, line.starts_on))
    if line.status is not LineStatus.ACTIVE or line.current_period is None:
        return work
    if line.unit is PriceUnit.PER_LEAD:
        if line.unbilled_since is not None:
            # Leads delivered up to Thursday go out on Friday's invoice (R-L2).
            work.append((Work.INVOICE_LEADS, next_friday(line.unbilled_since + timedelta(days=1))))
        return work
    end = line.current_period.end
    work.append((Work.RENEW, end))
    autopay = line.autopay
    if autopay is None and line.payer is Payer.PARTNER and account is not None:
        autopay = account.autopay
    if autopay is PaymentSource.BANK_TRANSFER and (
        line.invoiced_through is None or line.invoiced_through <= end
    ):
        # Invoice autopay: the next period's invoice goes out 5 days early (R-C6), as many
        # days as the policy in force on the renewal date says.
        lead_days = policy_for(end).invoice_autopay_lead_days
        ahead = max(end - timedelta(days=lead_days), line.current_period.start)
        work.append((Work.INVOICE_AHEAD, ahead))
    return work


def _invoice(invoice: Invoice) -> list[tuple[Work, date]]:
    if invoice.status is not InvoiceStatus.OPEN:
        return []
    work: list[tuple[Work, date]] = []
    source = invoice.expected_source
    if invoice.pending:
        # Counted from the partner's business day the first debit went in (R-X7, R-E4), not
        # the UTC date: a Sunday evening in New York is Monday in UTC.
        submitted = min(invoice.pending_since.values())
        work.append(
            (Work.SETTLE_DEBIT, add_business_days(submitted, ACH_SETTLEMENT_CHECK_BUSINESS_DAYS))
        )
    elif source is not None and source.is_gateway:
        if invoice.failed_attempts == 0 and not invoice.payments:
            work.append((Work.CHARGE, invoice.issued_on))
    elif not invoice.overdue:
        work.append((Work.MARK_OVERDUE, invoice.due_on + timedelta(days=1)))
    return work


def _account(account: PartnerAccount) -> list[tuple[Work, date]]:
    work: list[tuple[Work, date]] = []
    if account.closed:
        return work
    grace_ends_on = account.grace_ends_on
    if grace_ends_on is not None and PauseReason.PAYMENT_OVERDUE not in account.pause_reasons:
        work.append((Work.EXPIRE_GRACE, grace_ends_on))
    if account.budget is not None and account.budget_period is not None:
        work.append((Work.START_BUDGET_PERIOD, account.budget_period.end))
    billing_day = account.next_billing_date
    if billing_day is not None:
        work.append((Work.UNIFIED_INVOICE, billing_day))
    return work


def _partner_of(aggregate: Any) -> UUID | None:
    if isinstance(aggregate, PartnerAccount):
        return UUID(str(aggregate.id))
    partner_id = getattr(aggregate, "partner_id", None)
    return partner_id if isinstance(partner_id, UUID) else None


def _touched(events: Iterable[Any]) -> list[UUID]:
    return list(dict.fromkeys(event.originator_id for event in events))


ScheduleRow = tuple[str, UUID, date, str, UUID]


class ScheduleProjection:
    """Keeps `schedule` true to the state of every aggregate a batch changed.

    It remembers the rows it last committed for each aggregate and writes only those that
    changed: most commands (a top-up, a lead) change nothing the clock must do.
    """

    def __init__(self, policy: BillingPolicy) -> None:
        self.policy = policy
        """Version 0 of the billing policy; each renewal reads the version in force then."""
        self._written: dict[UUID, list[ScheduleRow]] = {}
        self._pending: dict[UUID, list[ScheduleRow]] = {}

    def settle(self, committed: bool) -> None:
        if committed:
            self._written.update(self._pending)
        self._pending = {}

    def forget(self, aggregate_ids: list[UUID] | None) -> None:
        if aggregate_ids is None:
            self._written.clear()
        else:
            for aggregate_id in aggregate_ids:
                self._written.pop(aggregate_id, None)

    def apply(self, conn: psycopg.Connection[Any], events: list[Any], lookup: Lookup) -> None:
        ids = _touched(events)
        if not ids:
            return
        # A partner's autopay choice moves its lines' invoice dates too (R-C6).
        autopay_changed = [
            event.originator_id
            for event in events
            if isinstance(event, PartnerAccount.AutopayPreferenceSet)
        ]
        if autopay_changed:
            lines = conn.execute(
                "SELECT line_id FROM line_index WHERE partner_id = ANY(%s)", (autopay_changed,)
            ).fetchall()
            ids = list(dict.fromkeys([*ids, *(UUID(str(row[0])) for row in lines)]))
        if any(
            isinstance(event, PolicyHistory.ChangeScheduled)
            and PolicyField.INVOICE_AUTOPAY_LEAD_DAYS in event.changes
            for event in events
        ):
            # A new invoice-ahead period moves the invoice date of every line invoiced ahead
            # (R-C6): those with such work scheduled, the only ones whose dates it moves.
            lines = conn.execute(
                "SELECT subject_id FROM schedule WHERE kind = %s", (Work.INVOICE_AHEAD.value,)
            ).fetchall()
            ids = list(dict.fromkeys([*ids, *(UUID(str(row[0])) for row in lines)]))
        histories: list[PolicyHistory | None] = []

        def policy_for(day: date) -> BillingPolicy:
            # Looked up once a batch, and only when a line with invoice autopay needs it.
            if not histories:
                found = lookup(POLICY_ID)
                histories.append(found if isinstance(found, PolicyHistory) else None)
            return policy_on(histories[0], self.policy, day)

        changed: list[UUID] = []
        rows: list[ScheduleRow] = []
        for aggregate_id in ids:
            aggregate = lookup(aggregate_id)
            partner_id = _partner_of(aggregate)
            if partner_id is None:
                continue
            account = aggregate if isinstance(aggregate, PartnerAccount) else lookup(partner_id)
            due = [
                (work.value, aggregate_id, due_on, account.time_zone, partner_id)
                for work, due_on in due_work(aggregate, policy_for, account)
            ]
            if self._written.get(aggregate_id) == due:
                continue
            changed.append(aggregate_id)
            rows.extend(due)
            self._pending[aggregate_id] = due
        if changed:
            conn.execute("DELETE FROM schedule WHERE subject_id = ANY(%s)", (changed,))
        if rows:
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO schedule (kind, subject_id, due_on, time_zone, partner_id) "
                    "VALUES (%s, %s, %s, %s, %s)",
                    rows,
                )


class _Stateless:
    """An inline projection that remembers nothing between batches."""

    def settle(self, committed: bool) -> None:
        """Nothing to settle."""

    def forget(self, aggregate_ids: list[UUID] | None) -> None:
        """Nothing to forget."""


class LineIndex(_Stateless):
    """Keeps `line_index`: each line's partner, client, unified billing and status."""

    def apply(self, conn: psycopg.Connection[Any], events: list[Any], lookup: Lookup) -> None:
        rows = []
        for line_id in _touched(e for e in events if isinstance(e, SubscriptionLine.Event)):
            line = lookup(line_id)
            rows.append(
                (line.id, line.partner_id, line.client_id, line.unified_billing, line.status.value)
            )
        if rows:
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO line_index "
                    "(line_id, partner_id, client_id, unified_billing, status) "
                    "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (line_id) DO UPDATE SET "
                    "partner_id = excluded.partner_id, client_id = excluded.client_id, "
                    "unified_billing = excluded.unified_billing, status = excluded.status",
                    rows,
                )


class OpenInvoices(_Stateless):
    """Keeps `open_invoices`: every invoice still owed, and whether it is failed or overdue."""

    def apply(self, conn: psycopg.Connection[Any], events: list[Any], lookup: Lookup) -> None:
        upserts, closed = [], []
        for invoice_id in _touched(e for e in events if isinstance(e, Invoice.Event)):
            invoice = lookup(invoice_id)
            if invoice.status is InvoiceStatus.OPEN:
                upserts.append(
                    (
                        invoice.id,
                        invoice.partner_id,
                        invoice.payer_id,
                        list(invoice.line_ids),
                        invoice.due_on,
                        invoice.is_outstanding,
                    )
                )
            else:
                closed.append(invoice.id)
        if closed:
            conn.execute("DELETE FROM open_invoices WHERE invoice_id = ANY(%s)", (closed,))
        if upserts:
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO open_invoices "
                    "(invoice_id, partner_id, payer_id, line_ids, due_on, outstanding) "
                    "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (invoice_id) DO UPDATE SET "
                    "outstanding = excluded.outstanding",
                    upserts,
                )
