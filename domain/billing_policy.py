"""The billing policy as history: its rates and periods change by scheduled, numbered versions.

Version 0 is the deployment's own policy (`BillingPolicy()`, today's values unless configured
otherwise), in force from the beginning of time. Each scheduled change makes the next version:
the fields it names take their new values from its effective date on, in every partner's
calendar (R-X7), and every rule reads the version in force on the business date it applies to.
Versions follow each other in effective-date order, so the version in force on a day is the
last one that began on or before it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from types import MappingProxyType
from uuid import uuid5

from eventsourcing.domain import Aggregate

from domain.calendar import Term
from domain.errors import (
    InvalidValue,
    PolicyChangeNotInFuture,
    PolicyChangeOutOfOrder,
    PolicyChangesExhausted,
)
from domain.money import AMOUNT_MAX_MINOR, check_currency
from domain.pricing import RATE_MAX, BillingPolicy
from domain.values import LEDGERLINE_NAMESPACE

POLICY_ID = uuid5(LEDGERLINE_NAMESPACE, "billing-policy")
"""The one billing policy's id, fixed so that every command finds it without a lookup."""
POLICY_VERSIONS_MAX = 1_000
"""Changes a policy may have: rates change a few times a year; a thousand is centuries of that,
and keeps the history every command folds small."""
POLICY_DAYS_MAX = 366
"""The longest any policy period (grace, payment terms, invoice-ahead, transfer) may be: a year.
Longer is a typing mistake (weeks for days), and would hold a partner's service for years."""
RATE_PLACES_MAX = 6
"""Decimal places a rate may have: 0.0001 % is finer than any card scheme prices; more places
are a value pasted from a float (0.025000000000000001)."""
CHANGE_VALUES_MAX = 256
"""Values one change may set: more than the policy has (six, a discount per term, a lead
threshold per ISO 4217 currency, about 180), so a longer list is not a policy change."""
LATEST_UTC_OFFSET = timedelta(hours=14)
"""Kiribati's offset, the furthest ahead of UTC: the first place each business day begins."""


class PolicyField(StrEnum):
    """A policy value a change may set, besides the per-term and per-currency ones below."""

    CARD_FEE_RATE = "card_fee_rate"
    """R-O7: the card processing fee passed on to the payer."""
    CASHBACK_RATE = "cashback_rate"
    """R-C4: the partner's cashback on a client's own payment."""
    INVOICE_AUTOPAY_LEAD_DAYS = "invoice_autopay_lead_days"
    """R-C6: days before the paid period ends that invoice autopay issues the invoice."""
    GRACE_PERIOD_DAYS = "grace_period_days"
    """R-L4: days of grace after a missed payment, before the account pauses."""
    TRANSFER_BUSINESS_DAYS = "transfer_business_days"
    """R-E4: business days before a completed transfer request takes effect."""
    PAYMENT_TERMS_DAYS = "payment_terms_days"
    """Days from issue to due date of an invoice paid by bank transfer or offline."""


DISCOUNT_PREFIX = "duration_discount:"
"""`duration_discount:twelve_months`: the R-C3 discount of one term."""
LEAD_THRESHOLD_PREFIX = "lead_threshold_minor:"
"""`lead_threshold_minor:USD`: the R-L2 unbilled-leads threshold in one currency."""
RATE_FIELDS = frozenset({PolicyField.CARD_FEE_RATE, PolicyField.CASHBACK_RATE})
DAY_FIELDS = frozenset(PolicyField) - RATE_FIELDS


def parse_rate(name: str, text: str) -> Decimal:
    """A rate written as a decimal string, in [0, RATE_MAX), with at most RATE_PLACES_MAX places."""
    try:
        rate = Decimal(text)
    except (InvalidOperation, TypeError, ValueError):
        rate = Decimal("NaN")
    exponent = rate.as_tuple().exponent
    if (
        not rate.is_finite()
        or not isinstance(exponent, int)
        or -exponent > RATE_PLACES_MAX
        or not Decimal(0) <= rate < RATE_MAX
    ):
        raise InvalidValue(
            f"{name} must be a decimal in [0, {RATE_MAX}) with at most {RATE_PLACES_MAX} places, "
            f"not {text!r}.",
            field=name,
        )
    return rate


def _parse_whole(name: str, text: str, most: int) -> int:
    # The length first: `int` of thousands of digits is refused by Python itself (and slow).
    if (
        not text.isascii()
        or not text.isdigit()
        or len(text.lstrip("0")) > len(str(most))
        or int(text) > most
    ):
        raise InvalidValue(
            f"{name} must be a whole number from 0 to {most}, not {text!r}.", field=name
        )
    return int(text)


def changed_policy(
    policy: BillingPolicy, changes: Mapping[str, str], version: int
) -> BillingPolicy:
    """`policy` with `changes` applied (canonical text by field name), numbered `version`."""
    if not changes or len(changes) > CHANGE_VALUES_MAX:
        raise InvalidValue(
            f"A policy change sets from 1 to {CHANGE_VALUES_MAX} values.", field="changes"
        )
    values: dict[str, object] = {"version": version}
    discounts = dict(policy.duration_discounts)
    thresholds = dict(policy.lead_threshold_minor)
    for name, text in changes.items():
        if name in RATE_FIELDS:
            values[name] = parse_rate(name, text)
        elif name in DAY_FIELDS:
            values[name] = _parse_whole(name, text, POLICY_DAYS_MAX)
        elif name.startswith(DISCOUNT_PREFIX):
            term = name.removeprefix(DISCOUNT_PREFIX)
            if term not in set(Term):
                raise InvalidValue(f"{term!r} is not a term.", field=name)
            discounts[Term(term)] = parse_rate(name, text)
        elif name.startswith(LEAD_THRESHOLD_PREFIX):
            currency = check_currency(name.removeprefix(LEAD_THRESHOLD_PREFIX))
            thresholds[currency] = _parse_whole(name, text, AMOUNT_MAX_MINOR)
        else:
            raise InvalidValue(f"{name!r} is not a policy value a change may set.", field=name)
    values["duration_discounts"] = MappingProxyType(discounts)
    values["lead_threshold_minor"] = MappingProxyType(thresholds)
    return dataclasses.replace(policy, **values)  # type: ignore[arg-type]


def canonical_changes(changes: Mapping[str, str]) -> dict[str, str]:
    """The changes as stored: each value in one canonical spelling ("0.0250" -> "0.025")."""
    canonical: dict[str, str] = {}
    for name, text in sorted(changes.items()):
        if name in RATE_FIELDS or name.startswith(DISCOUNT_PREFIX):
            rate = parse_rate(name, text)
            canonical[name] = format(rate.normalize(), "f") if rate else "0"
        else:
            canonical[name] = str(int(text)) if text.isascii() and text.isdigit() else text
    return canonical


def last_day_begun(now: datetime) -> date:
    """The latest business date any partner anywhere has already begun at `now` (R-X7)."""
    return (now.astimezone(UTC) + LATEST_UTC_OFFSET).date()


@dataclass(frozen=True, slots=True)
class PolicyChange:
    """One scheduled change of the policy: its version, its first day, and what it sets."""

    version: int
    effective_from: date
    changes: Mapping[str, str]


class PolicyHistory(Aggregate):
    """The vendor's billing policy as the versions it went through and those scheduled."""

    class Started(Aggregate.Created):
        """The policy began to have a history: its first change was scheduled."""

    def __init__(self) -> None:
        self.changes: list[PolicyChange] = []

    @classmethod
    def start(cls, now: datetime) -> PolicyHistory:
        return cls._create(cls.Started, id=POLICY_ID, timestamp=now)

    class ChangeScheduled(Aggregate.Event):
        """The vendor scheduled a change of rates or periods from a business date on: version
        `version` of the policy, the fields named taking these values (canonical text)."""

        version: int
        effective_from: date
        changes: dict[str, str]

        def apply(self, history: PolicyHistory) -> None:
            history.changes.append(
                PolicyChange(self.version, self.effective_from, dict(self.changes))
            )

    def schedule(
        self,
        changes: Mapping[str, str],
        effective_from: date,
        base: BillingPolicy,
        now: datetime,
    ) -> PolicyChange:
        """Schedule a change from `effective_from` on: a day no partner has begun yet, on or
        after every change already scheduled, setting values the rules accept."""
        first_open_day = last_day_begun(now) + timedelta(days=1)
        if effective_from < first_open_day:
            raise PolicyChangeNotInFuture(
                "A policy change applies from a day no partner has begun yet: "
                f"{first_open_day} or later.",
                effective_from=effective_from.isoformat(),
                earliest=first_open_day.isoformat(),
            )
        if self.changes and effective_from < self.changes[-1].effective_from:
            raise PolicyChangeOutOfOrder(
                "A policy change cannot start before a change already scheduled "
                f"({self.changes[-1].effective_from}); schedule it from then on.",
                effective_from=effective_from.isoformat(),
                earliest=self.changes[-1].effective_from.isoformat(),
            )
        if len(self.changes) >= POLICY_VERSIONS_MAX:
            raise PolicyChangesExhausted(
                f"The policy has {POLICY_VERSIONS_MAX} versions, the most it keeps.",
                limit=POLICY_VERSIONS_MAX,
            )
        version = len(self.changes) + 1
        changed_policy(self.policy_on(effective_from, base), changes, version)
        self.trigger_event(
            self.ChangeScheduled,
            version=version,
            effective_from=effective_from,
            changes=canonical_changes(changes),
            timestamp=now,
        )
        return self.changes[-1]

    def policy_on(self, day: date, base: BillingPolicy) -> BillingPolicy:
        """The version in force on a business date: `base` with every change begun by then."""
        return in_force_on(base, self.changes, day)

    def scheduled_after(self, day: date) -> list[PolicyChange]:
        """The changes that begin after `day`, in the order they begin."""
        return [change for change in self.changes if change.effective_from > day]


def every_version(base: BillingPolicy, changes: Sequence[PolicyChange]) -> list[BillingPolicy]:
    """Each version's values, from version 0 (`base`) on, the changes taken in order."""
    versions = [base]
    for change in changes:
        versions.append(changed_policy(versions[-1], change.changes, change.version))
    return versions


def in_force_on(base: BillingPolicy, changes: Sequence[PolicyChange], day: date) -> BillingPolicy:
    """The version in force on a business date: `base` with every change begun by then."""
    begun = [change for change in changes if change.effective_from <= day]
    return every_version(base, begun)[-1]


def policy_on(history: PolicyHistory | None, base: BillingPolicy, day: date) -> BillingPolicy:
    """The version in force on a business date; `base` (version 0) while nothing was changed."""
    return base if history is None else history.policy_on(day, base)
