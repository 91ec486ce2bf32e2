"""Pure rules about dates: billing periods, business days, Fridays, budgets and local dates.

Nothing here reads a clock: every rule takes the day or instant it is about. Days are
`datetime.date`; instants are aware `datetime`s, stored in UTC and turned into business dates
in the partner's time zone (R-X7).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from enum import StrEnum

from domain.errors import InvalidValue
from domain.time import zone

MONTHS_PER_YEAR = 12
"""Twelve months make a year: annual and twelve-month terms are twelve monthly steps."""

FIRST_DAY_OF_MONTH = 1
"""The calendar anchor bills on the 1st (R-O2)."""

LAST_ANCHOR_DAY = 31
"""No month is longer; anchors on the 29th-31st clamp to shorter months (R-O2)."""

FRIDAY = 4
"""`date.weekday()` of a Friday (Monday is 0): lead invoices run on Fridays (R-L2)."""

SATURDAY = 5
"""`date.weekday()` of a Saturday: it and every later weekday number are the weekend."""

DAYS_PER_WEEK = 7

ONE_DAY = timedelta(days=1)

PRORATION_PRECISION = 28
"""The decimal module's default, fixed here so a caller's decimal context never changes it."""

DATE_MIN = date(2000, 1, 1)
DATE_MAX = date(2999, 12, 31)
"""A business date someone names (a lead's delivery, a transfer's preferred date) outside these
is a typo; bounded so that adding a period or converting a time zone can never overflow the
calendar. A line's start and the period a renewal names are bounded tighter by their own rules
(R-X7)."""


class Anchor(StrEnum):
    """Which day of the month a plan bills on (R-O2)."""

    CALENDAR = "calendar"
    """Bill on the 1st of each month."""
    ANNIVERSARY = "anniversary"
    """Bill on the day of month the plan was set up."""


class Term(StrEnum):
    """How long one paid period of a line lasts."""

    MONTHLY = "monthly"
    """One-month periods."""
    ANNUAL = "annual"
    """Twelve-month periods, billed yearly."""
    TWELVE_MONTHS = "twelve_months"
    """A twelve-month prepaid purchase (it earns the R-C3 duration discount in pricing)."""

    @property
    def months(self) -> int:
        """The number of months in one period of this term."""
        return 1 if self is Term.MONTHLY else MONTHS_PER_YEAR


@dataclass(frozen=True, slots=True)
class BillingPeriod:
    """The days from `start` (inclusive) to `end` (exclusive) that one charge pays for."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if not self.start < self.end:
            raise ValueError(f"a period starts before it ends, not {self.start} to {self.end}")

    def __contains__(self, day: date) -> bool:
        return self.start <= day < self.end

    @property
    def days(self) -> int:
        """The number of days in the period."""
        return (self.end - self.start).days


def _check_anchor_day(anchor_day: int) -> None:
    if not FIRST_DAY_OF_MONTH <= anchor_day <= LAST_ANCHOR_DAY:
        raise ValueError(f"an anchor day is 1 to 31, not {anchor_day}")


def _last_day_of_month(year: int, month: int) -> int:
    if month == MONTHS_PER_YEAR:
        return 31
    return (date(year, month + 1, 1) - ONE_DAY).day


def month_day(year: int, month: int, anchor_day: int) -> date:
    """The anchor day in that month, or the month's last day when the month is shorter (R-O2)."""
    _check_anchor_day(anchor_day)
    return date(year, month, min(anchor_day, _last_day_of_month(year, month)))


def add_months(day: date, months: int, anchor_day: int) -> date:
    """The anchor day `months` months after `day` (before, if negative), clamped to month end.

    Only the month of `day` counts, so a clamped date returns to the anchor day as soon as a
    month is long enough (Jan 31 -> Feb 28 -> Mar 31; R-O2).
    """
    year, month_index = divmod(day.year * MONTHS_PER_YEAR + day.month - 1 + months, MONTHS_PER_YEAR)
    return month_day(year, month_index + 1, anchor_day)


def billing_day_of(start: date, anchor: Anchor) -> int:
    """The day of month a plan set up on `start` bills on (R-O2)."""
    return FIRST_DAY_OF_MONTH if anchor is Anchor.CALENDAR else start.day


def first_period(start: date, term: Term, anchor: Anchor) -> BillingPeriod:
    """The first period of a plan set up on `start`.

    A calendar plan set up after the 1st first runs to the next 1st: a short period that
    pricing prorates. Every other first period is one whole term.
    """
    return aligned_first_period(start, term, billing_day_of(start, anchor))


def aligned_first_period(start: date, term: Term, anchor_day: int) -> BillingPeriod:
    """The first period from `start` of a plan that bills on `anchor_day` (R-O2).

    One whole term when `start` is on the anchor day (clamped to month end); otherwise a short
    period to the next anchor day, for pricing to prorate.
    """
    on_anchor = month_day(start.year, start.month, anchor_day)
    if start == on_anchor:
        return BillingPeriod(start, add_months(start, term.months, anchor_day))
    if on_anchor > start:
        return BillingPeriod(start, on_anchor)
    return BillingPeriod(start, add_months(start, 1, anchor_day))


def next_period(
    period: BillingPeriod, term: Term, anchor: Anchor, anchor_day: int
) -> BillingPeriod:
    """The period that follows `period` without a gap, ending on the anchor day (R-O2)."""
    _check_anchor_day(anchor_day)
    if anchor is Anchor.CALENDAR and anchor_day != FIRST_DAY_OF_MONTH:
        raise ValueError(f"a calendar plan bills on the 1st, not on day {anchor_day}")
    return BillingPeriod(period.end, add_months(period.end, term.months, anchor_day))


def periods(start: date, term: Term, anchor: Anchor) -> Iterator[BillingPeriod]:
    """Every period of a plan set up on `start`, in order and without end."""
    anchor_day = billing_day_of(start, anchor)
    period = first_period(start, term, anchor)
    while True:
        yield period
        period = next_period(period, term, anchor, anchor_day)


def is_business_day(day: date, holidays: frozenset[date] = frozenset()) -> bool:
    """Whether `day` is a Monday to Friday that is not a holiday."""
    return day.weekday() < SATURDAY and day not in holidays


def add_business_days(day: date, count: int, holidays: frozenset[date] = frozenset()) -> date:
    """The `count`-th business day after `day` (R-E4).

    With a count of 0 it is `day` itself when that is a business day, else the next one. The
    search always ends: the holidays are finite and every week has weekdays.
    """
    if count < 0:
        raise ValueError(f"a count of business days is not negative, not {count}")
    current = day
    found = 0
    while found < count:
        current += ONE_DAY
        if is_business_day(current, holidays):
            found += 1
    # Only a count of 0 can still stand on a weekend or holiday.
    while not is_business_day(current, holidays):
        current += ONE_DAY
    return current


def next_friday(day: date) -> date:
    """The first Friday on or after `day`: the next weekly lead invoice run (R-L2)."""
    return day + timedelta(days=(FRIDAY - day.weekday()) % DAYS_PER_WEEK)


def budget_period(signup_day: int, today: date) -> BillingPeriod:
    """The monthly budget period that holds `today`, starting on the signup day (R-L3)."""
    start = month_day(today.year, today.month, signup_day)
    if start > today:
        start = add_months(start, -1, signup_day)
    return BillingPeriod(start, add_months(start, 1, signup_day))


def plausible_date(day: date, field: str) -> date:
    """`day`, if between DATE_MIN and DATE_MAX; otherwise an `invalid_value` naming `field`."""
    if not DATE_MIN <= day <= DATE_MAX:
        raise InvalidValue(f"{field} must be between {DATE_MIN} and {DATE_MAX}.", field=field)
    return day


def business_date(instant: datetime, time_zone: str) -> date:
    """The calendar date an instant falls on in the partner's time zone (R-X7)."""
    if instant.utcoffset() is None:
        raise ValueError(f"an instant needs a time zone, {instant.isoformat()} has none")
    return instant.astimezone(zone(time_zone)).date()


def start_of_business_day(day: date, time_zone: str) -> datetime:
    """The UTC instant at which `day` begins in the partner's time zone (R-X7).

    That is local midnight, its first occurrence when clocks go back over it. When clocks jump
    over midnight it is the instant of the jump; for a day the zone skipped altogether
    (Pacific/Apia, 2011-12-30) it is the instant the next day begins.
    """
    local_zone = zone(time_zone)
    midnight = datetime.combine(day, time(), tzinfo=local_zone)
    instant = midnight.astimezone(UTC)
    if instant.astimezone(local_zone).replace(tzinfo=None) == midnight.replace(tzinfo=None):
        return instant
    # Midnight is in a gap. Read with the offset after the jump it lies before the jump, read
    # with the offset before it lies after: the jump is between, on a whole second (tzdata).
    before = midnight.replace(fold=1).astimezone(UTC)
    low, high = 0, int((instant - before).total_seconds())
    while high - low > 1:
        middle = (low + high) // 2
        if (before + timedelta(seconds=middle)).astimezone(local_zone).date() < day:
            low = middle
        else:
            high = middle
    return before + timedelta(seconds=high)


def prorate_fraction(part: BillingPeriod, whole: BillingPeriod) -> Decimal:
    """The share of `whole` that `part` covers, in days: the factor for prorating a charge.

    Exact when the quotient ends (15/30 is 0.5); otherwise correct to 28 significant digits.
    """
    if not (whole.start <= part.start and part.end <= whole.end):
        raise ValueError(f"{part} is not within {whole}")
    with localcontext(prec=PRORATION_PRECISION, rounding=ROUND_HALF_EVEN):
        return Decimal(part.days) / Decimal(whole.days)
