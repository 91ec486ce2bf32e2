"""A partner's account as it stood at a moment, and the events that led there (issue 14;
docs/audit.md "As of").

Three ways to name the moment (a `Cut`):

- a log position: every event up to it;
- an instant (what the ledger knew then): reduced to the last position of the partner's chain
  recorded at or before it (`recorded_at`, ledger/audit_chain.py);
- a business date (what was in effect then): every event recorded up to now, corrections
  included, whose business date (replay/as_of_dates.py) is on or before it.

The state is rebuilt by replaying the partner's aggregates (its account, bonus wallet, lines,
invoices and price list, found in its chain) to the cut, from snapshots where the writer keeps
them (replay/history.py), never from today's read models: a read model could be behind,
rebuilt, or wrong, and the log is what an auditor trusts.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import Mapper, StoredEvent

from domain.bonus_wallet import BonusWallet
from domain.errors import BillingError, InvalidValue, NotFound, PartnerNotFound, Refusal
from domain.invoice import Invoice
from domain.partner_account import PartnerAccount
from domain.price_overrides import PartnerPrices
from domain.subscription_line import SubscriptionLine
from ledger.audit_chain import VENDOR_CHAIN
from ledger.store import EVENTS_TABLE
from replay.as_of_dates import event_business_date
from replay.history import load_at_position, replay_selected

AGGREGATES: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (PartnerAccount, BonusWallet, SubscriptionLine, Invoice, PartnerPrices)
}
"""The aggregates a partner's state is made of, by the class name their topics carry."""

HEAD = f"SELECT coalesce(max(notification_id), 0) FROM {EVENTS_TABLE}"  # noqa: S608
KNOWN_AT = (
    f"SELECT coalesce(max(notification_id), 0) FROM {EVENTS_TABLE} "  # noqa: S608
    "WHERE chain = %s AND recorded_at <= %s"
)
STREAMS = (
    f"SELECT DISTINCT originator_id FROM {EVENTS_TABLE} "  # noqa: S608
    "WHERE chain = %s AND notification_id <= %s"
)
CREATIONS = (
    f"SELECT originator_id, topic FROM {EVENTS_TABLE} "  # noqa: S608
    "WHERE originator_id = ANY(%s) AND originator_version = 1"
)
ALL_EVENTS_OF = (
    f"SELECT originator_id, originator_version, topic, state FROM {EVENTS_TABLE} "  # noqa: S608
    "WHERE originator_id = ANY(%s) ORDER BY originator_id, originator_version"
)


class CutKind(StrEnum):
    POSITION = "position"
    AS_OF = "as_of"
    BUSINESS_DATE = "business_date"


class AuditCutInvalid(BillingError):
    """The moment to audit is named by exactly one of an instant, a log position or a business
    date."""

    code = "audit_cut_invalid"
    refusal = Refusal.INVALID


class PartnerThenNotFound(NotFound):
    """The partner exists now, but the ledger had recorded nothing of it by the moment asked."""

    code = "partner_then_not_found"
    what, id_field = "partner account", "partner_id"


@dataclass(frozen=True)
class Cut:
    """The moment an audit looks at, and the log position it reaches."""

    kind: CutKind
    position: int
    """The last log position included (for a business date: the head when it was read)."""
    instant: datetime | None = None
    business_date: date | None = None

    def describe(self) -> str:
        if self.kind is CutKind.AS_OF and self.instant is not None:
            return f"as known at {self.instant.isoformat()} (log position {self.position})"
        if self.kind is CutKind.BUSINESS_DATE and self.business_date is not None:
            return (
                f"as in effect on {self.business_date.isoformat()} "
                f"(recorded up to position {self.position})"
            )
        return f"at log position {self.position}"


@dataclass(frozen=True)
class Balances:
    """The partner's money as the aggregates hold it, in minor units: its company balance and
    bonus wallet (owed to it), and what each payer (the partner, or a client paying for
    itself) owes on the partner's invoices."""

    currency: str
    company_balance_minor: int
    bonus_wallet_minor: int
    receivable_minor: dict[UUID, int]


@dataclass
class PartnerAsOf:
    """A partner's account, lines, invoices, wallet, price list and balances at a cut."""

    cut: Cut
    account: PartnerAccount
    wallet: BonusWallet | None = None
    prices: PartnerPrices | None = None
    lines: list[SubscriptionLine] = field(default_factory=list)
    invoices: list[Invoice] = field(default_factory=list)

    @property
    def balances(self) -> Balances:
        currency = self.account.currency
        owed: dict[UUID, int] = defaultdict(int)
        for invoice in self.invoices:
            if invoice.partner_id == self.account.id:
                owed[invoice.payer_id] += invoice.outstanding.amount_minor
        return Balances(
            currency,
            self.account.balance.amount_minor,
            self.wallet.balance.amount_minor if self.wallet is not None else 0,
            dict(sorted(owed.items(), key=lambda item: str(item[0]))),
        )


def cut_of(
    conn: psycopg.Connection[Any],
    partner_id: UUID,
    *,
    as_of: datetime | None = None,
    position: int | None = None,
    business_date: date | None = None,
) -> Cut:
    """The cut that exactly one of the three names, reduced to a log position."""
    if sum(value is not None for value in (as_of, position, business_date)) != 1:
        raise AuditCutInvalid(
            "Name the moment with exactly one of an instant (as_of), a log position "
            "(position) or a business date (business_date)."
        )
    head = int(one_value(conn, HEAD))
    if position is not None:
        if not 1 <= position <= head:
            raise InvalidValue(
                f"The log has no position {position} (it runs from 1 to {head}).", field="position"
            )
        return Cut(CutKind.POSITION, position)
    if as_of is not None:
        if as_of.utcoffset() is None:
            raise InvalidValue("An instant needs its UTC offset.", field="as_of")
        return Cut(
            CutKind.AS_OF, int(one_value(conn, KNOWN_AT, (partner_id, as_of))), instant=as_of
        )
    return Cut(CutKind.BUSINESS_DATE, head, business_date=business_date)


def partner_as_of(
    conn: psycopg.Connection[Any],
    mapper: Mapper[UUID],
    partner_id: UUID,
    *,
    as_of: datetime | None = None,
    position: int | None = None,
    business_date: date | None = None,
) -> PartnerAsOf:
    """The partner's state at the moment named, in one snapshot of the log."""
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        current = account_now(conn, mapper, partner_id)
        cut = cut_of(conn, partner_id, as_of=as_of, position=position, business_date=business_date)
        if cut.business_date is not None:
            found = _in_effect_on(conn, mapper, partner_id, cut, current.time_zone)
        else:
            found = _at_position(conn, mapper, partner_id, cut.position)
    account = found.get(partner_id)
    if not isinstance(account, PartnerAccount):
        raise PartnerThenNotFound.of(partner_id, where=f" {cut.describe()}")
    state = PartnerAsOf(cut, account)
    for aggregate in found.values():
        if isinstance(aggregate, BonusWallet):
            state.wallet = aggregate
        elif isinstance(aggregate, PartnerPrices):
            state.prices = aggregate
        elif isinstance(aggregate, SubscriptionLine):
            state.lines.append(aggregate)
        elif isinstance(aggregate, Invoice):
            state.invoices.append(aggregate)
    state.lines.sort(key=lambda line: (line.client_id.int, line.id.int))
    state.invoices.sort(key=lambda invoice: (invoice.issued_on, invoice.number))
    return state


def account_now(
    conn: psycopg.Connection[Any], mapper: Mapper[UUID], partner_id: UUID
) -> PartnerAccount:
    """The partner's account as it is now (its time zone, that it exists), or not found."""
    if partner_id == VENDOR_CHAIN:
        raise PartnerNotFound.of(partner_id)
    account = load_at_position(conn, mapper, partner_id, int(one_value(conn, HEAD)))
    if not isinstance(account, PartnerAccount):
        raise PartnerNotFound.of(partner_id)
    return account


def _streams(conn: psycopg.Connection[Any], partner_id: UUID, position: int) -> dict[UUID, str]:
    """The partner's aggregates with events in its chain up to `position`, and their kinds."""
    ids = [row[0] for row in conn.execute(STREAMS, (partner_id, position)).fetchall()]
    kinds = {}
    for originator_id, topic in conn.execute(CREATIONS, (ids,)).fetchall():
        name = str(topic).partition(":")[2].partition(".")[0]
        if name in AGGREGATES:
            kinds[originator_id] = name
    return kinds


def _at_position(
    conn: psycopg.Connection[Any], mapper: Mapper[UUID], partner_id: UUID, position: int
) -> dict[UUID, Any]:
    found = {}
    for aggregate_id in _streams(conn, partner_id, position):
        aggregate = load_at_position(conn, mapper, aggregate_id, position)
        if aggregate is not None:
            found[aggregate_id] = aggregate
    return found


def _in_effect_on(
    conn: psycopg.Connection[Any],
    mapper: Mapper[UUID],
    partner_id: UUID,
    cut: Cut,
    time_zone: str,
) -> dict[UUID, Any]:
    """Every aggregate of the partner made by its events in effect by the cut's business date
    (all its events are read: snapshots hold every event before them, in effect or not)."""
    day = cut.business_date or date.max
    streams = _streams(conn, partner_id, cut.position)
    events: dict[UUID, list[Any]] = defaultdict(list)
    for originator_id, version, topic, state in conn.execute(
        ALL_EVENTS_OF, (list(streams),)
    ).fetchall():
        event: Any = mapper.to_domain_event(
            StoredEvent(originator_id, int(version), topic, bytes(state))
        )
        if event_business_date(event, time_zone) <= day:
            events[originator_id].append(event)
    found = {}
    for aggregate_id, selected in events.items():
        aggregate = replay_selected(selected)
        if aggregate is not None:
            found[aggregate_id] = aggregate
    return found


def one_value(conn: psycopg.Connection[Any], query: str, params: tuple[Any, ...] = ()) -> Any:
    """The one value an aggregate query answers."""
    row = conn.execute(query, params).fetchone()
    return row[0] if row is not None else 0
