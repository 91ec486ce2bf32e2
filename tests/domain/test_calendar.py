"""Calendar rules: billing anchors (R-O2), business days (R-E4), Fridays (R-L2), budget periods
(R-L3) and business dates in the partner's time zone (R-X7)."""

from __future__ import annotations

from calendar import monthrange
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import ROUND_DOWN, Decimal, localcontext
from fractions import Fraction
from itertools import islice, pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.calendar import (
    Anchor,
    BillingPeriod,
    Term,
    add_business_days,
    add_months,
    aligned_first_period,
    billing_day_of,
    budget_period,
    business_date,
    is_business_day,
    month_day,
    next_friday,
    next_period,
    periods,
    prorate_fraction,
    start_of_business_day,
)
from domain.errors import UnknownTimeZone

DAYS = st.dates(date(2000, 1, 1), date(2100, 12, 31))
# hypothesis takes naive bounds and makes the instants aware through `timezones`.
INSTANTS = st.datetimes(
    datetime(2000, 1, 1),  # noqa: DTZ001
    datetime(2100, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
)
SAMPLE_ZONES = [
    "UTC",
    "America/New_York",
    "Europe/Madrid",
    "Australia/Sydney",
    "America/Santiago",
    "America/Havana",
    "America/Sao_Paulo",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "Pacific/Chatham",
]
"""Whole-hour, half-hour and 45-minute offsets; DST changes at 01:00-03:00 and at midnight."""
ZONES = st.sampled_from(SAMPLE_ZONES)
SECOND = timedelta(seconds=1)


def p(start: date, end: date) -> BillingPeriod:
    return BillingPeriod(start, end)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def on_anchor_day(day: date, anchor_day: int) -> bool:
    return day.day == min(anchor_day, monthrange(day.year, day.month)[1])


# --- R-O2: anchors and periods -------------------------------------------------------------


def test_r_o2_anniversary_on_the_31st_clamps_and_returns() -> None:
    assert list(islice(periods(date(2027, 1, 31), Term.MONTHLY, Anchor.ANNIVERSARY), 4)) == [
        p(date(2027, 1, 31), date(2027, 2, 28)),
        p(date(2027, 2, 28), date(2027, 3, 31)),
        p(date(2027, 3, 31), date(2027, 4, 30)),
        p(date(2027, 4, 30), date(2027, 5, 31)),
    ]
    assert list(islice(periods(date(2028, 1, 31), Term.MONTHLY, Anchor.ANNIVERSARY), 2)) == [
        p(date(2028, 1, 31), date(2028, 2, 29)),
        p(date(2028, 2, 29), date(2028, 3, 31)),
    ]


def test_r_o2_month_day_clamps_to_the_months_last_day() -> None:
    assert month_day(2027, 2, 31) == date(2027, 2, 28)
    assert month_day(2028, 2, 30) == date(2028, 2, 29)
    assert month_day(2027, 4, 31) == date(2027, 4, 30)
    assert month_day(2027, 3, 31) == date(2027, 3, 31)
    assert month_day(2027, 2, 15) == date(2027, 2, 15)


def test_r_o2_add_months_goes_both_ways_across_years() -> None:
    assert add_months(date(2027, 3, 31), -1, 31) == date(2027, 2, 28)
    assert add_months(date(2027, 1, 31), -2, 31) == date(2026, 11, 30)
    assert add_months(date(2026, 11, 30), 3, 31) == date(2027, 2, 28)
    assert add_months(date(2027, 2, 28), 1, 31) == date(2027, 3, 31)
    assert add_months(date(2027, 1, 15), 12, 15) == date(2028, 1, 15)


def test_r_o2_calendar_anchor_starts_with_a_short_period_to_the_1st() -> None:
    assert list(islice(periods(date(2026, 5, 17), Term.MONTHLY, Anchor.CALENDAR), 3)) == [
        p(date(2026, 5, 17), date(2026, 6, 1)),
        p(date(2026, 6, 1), date(2026, 7, 1)),
        p(date(2026, 7, 1), date(2026, 8, 1)),
    ]
    assert list(islice(periods(date(2026, 6, 1), Term.MONTHLY, Anchor.CALENDAR), 2)) == [
        p(date(2026, 6, 1), date(2026, 7, 1)),
        p(date(2026, 7, 1), date(2026, 8, 1)),
    ]


def test_r_o2_twelve_month_terms() -> None:
    assert (Term.MONTHLY.months, Term.ANNUAL.months, Term.TWELVE_MONTHS.months) == (1, 12, 12)
    assert list(islice(periods(date(2026, 5, 17), Term.ANNUAL, Anchor.CALENDAR), 3)) == [
        p(date(2026, 5, 17), date(2026, 6, 1)),
        p(date(2026, 6, 1), date(2027, 6, 1)),
        p(date(2027, 6, 1), date(2028, 6, 1)),
    ]
    leap_day = periods(date(2028, 2, 29), Term.TWELVE_MONTHS, Anchor.ANNIVERSARY)
    assert list(islice(leap_day, 4)) == [
        p(date(2028, 2, 29), date(2029, 2, 28)),
        p(date(2029, 2, 28), date(2030, 2, 28)),
        p(date(2030, 2, 28), date(2031, 2, 28)),
        p(date(2031, 2, 28), date(2032, 2, 29)),
    ]


def test_r_o2_a_first_period_off_the_anchor_day_runs_short_to_it() -> None:
    assert aligned_first_period(date(2026, 5, 10), Term.MONTHLY, 15) == p(
        date(2026, 5, 10), date(2026, 5, 15)
    )
    assert aligned_first_period(date(2026, 5, 20), Term.ANNUAL, 15) == p(
        date(2026, 5, 20), date(2026, 6, 15)
    )
    assert aligned_first_period(date(2026, 5, 15), Term.ANNUAL, 15) == p(
        date(2026, 5, 15), date(2027, 5, 15)
    )
    # Feb 28 is the 31st's stand-in in 2027, but not in a leap year.
    assert aligned_first_period(date(2027, 2, 28), Term.MONTHLY, 31) == p(
        date(2027, 2, 28), date(2027, 3, 31)
    )
    assert aligned_first_period(date(2028, 2, 28), Term.MONTHLY, 31) == p(
        date(2028, 2, 28), date(2028, 2, 29)
    )


def test_r_o2_billing_day_of_each_anchor() -> None:
    assert billing_day_of(date(2026, 5, 17), Anchor.CALENDAR) == 1
    assert billing_day_of(date(2026, 5, 17), Anchor.ANNIVERSARY) == 17


def test_billing_period_is_half_open_and_never_empty() -> None:
    february = p(date(2028, 2, 1), date(2028, 3, 1))
    assert february.days == 29
    assert date(2028, 2, 1) in february
    assert date(2028, 2, 29) in february
    assert date(2028, 3, 1) not in february
    assert date(2028, 1, 31) not in february
    with pytest.raises(ValueError, match="starts before it ends"):
        p(date(2028, 2, 1), date(2028, 2, 1))
    with pytest.raises(ValueError, match="starts before it ends"):
        p(date(2028, 2, 2), date(2028, 2, 1))


@pytest.mark.parametrize("anchor_day", [0, 32, -1])
def test_anchor_days_outside_1_to_31_are_programmer_errors(anchor_day: int) -> None:
    with pytest.raises(ValueError, match="anchor day"):
        month_day(2027, 1, anchor_day)
    with pytest.raises(ValueError, match="anchor day"):
        add_months(date(2027, 1, 1), 1, anchor_day)


def test_a_calendar_plan_bills_only_on_the_1st() -> None:
    june = p(date(2026, 6, 1), date(2026, 7, 1))
    with pytest.raises(ValueError, match="calendar plan"):
        next_period(june, Term.MONTHLY, Anchor.CALENDAR, 15)


@settings(max_examples=200)
@given(start=DAYS, term=st.sampled_from(Term), anchor=st.sampled_from(Anchor))
def test_r_o2_periods_are_contiguous_on_the_anchor_day_one_term_apart(
    start: date, term: Term, anchor: Anchor
) -> None:
    anchor_day = 1 if anchor is Anchor.CALENDAR else start.day
    first, *rest = list(islice(periods(start, term, anchor), 30))
    assert first.start == start
    for before, after in pairwise([first, *rest]):
        assert after.start == before.end
    for period in rest:
        assert on_anchor_day(period.start, anchor_day)
        assert on_anchor_day(period.end, anchor_day)
        assert month_index(period.end) - month_index(period.start) == term.months
    short_first = anchor is Anchor.CALENDAR and start.day != 1
    assert month_index(first.end) - month_index(first.start) == (1 if short_first else term.months)


@settings(max_examples=200)
@given(
    anchor_day=st.integers(1, 31),
    year=st.integers(2000, 2100),
    month=st.integers(1, 12),
    term=st.sampled_from(Term),
)
def test_r_o2_every_anchor_day_clamps_and_never_skips_or_repeats_a_month(
    anchor_day: int, year: int, month: int, term: Term
) -> None:
    start = date(year, month, min(anchor_day, monthrange(year, month)[1]))
    period = p(start - timedelta(days=1), start)
    for _ in range(30):
        following = next_period(period, term, Anchor.ANNIVERSARY, anchor_day)
        assert following.start == period.end
        assert on_anchor_day(following.end, anchor_day)
        assert month_index(following.end) - month_index(following.start) == term.months
        period = following


@given(start=DAYS, anchor_day=st.integers(1, 31), term=st.sampled_from(Term))
def test_r_o2_an_aligned_first_period_ends_on_the_first_anchor_day_it_can(
    start: date, anchor_day: int, term: Term
) -> None:
    first = aligned_first_period(start, term, anchor_day)
    assert first.start == start
    assert on_anchor_day(first.end, anchor_day)
    if on_anchor_day(start, anchor_day):
        assert month_index(first.end) - month_index(first.start) == term.months
    else:
        inside = (start + timedelta(days=n) for n in range(1, first.days))
        assert not any(on_anchor_day(day, anchor_day) for day in inside)


@given(
    anchor_day=st.integers(1, 31),
    year=st.integers(2000, 2100),
    month=st.integers(1, 12),
    a=st.integers(-240, 240),
    b=st.integers(-240, 240),
)
def test_r_o2_adding_months_composes(
    anchor_day: int, year: int, month: int, a: int, b: int
) -> None:
    day = date(year, month, min(anchor_day, monthrange(year, month)[1]))
    later = add_months(day, a, anchor_day)
    assert month_index(later) == month_index(day) + a
    assert on_anchor_day(later, anchor_day)
    assert add_months(later, b, anchor_day) == add_months(day, a + b, anchor_day)


# --- R-E4: business days -------------------------------------------------------------------

FRIDAY_MAY_15 = date(2026, 5, 15)
CHRISTMAS = frozenset({date(2026, 12, 25), date(2026, 12, 28)})


@pytest.mark.parametrize(
    ("day", "count", "holidays", "expected"),
    [
        (FRIDAY_MAY_15, 1, frozenset(), date(2026, 5, 18)),
        (FRIDAY_MAY_15, 2, frozenset(), date(2026, 5, 19)),
        (date(2026, 5, 14), 2, frozenset(), date(2026, 5, 18)),
        (date(2026, 5, 13), 0, frozenset(), date(2026, 5, 13)),
        (date(2026, 5, 16), 0, frozenset(), date(2026, 5, 18)),
        (date(2026, 5, 16), 1, frozenset(), date(2026, 5, 18)),
        (date(2026, 5, 17), 2, frozenset(), date(2026, 5, 19)),
        (date(2026, 5, 18), 5, frozenset({date(2026, 5, 25)}), date(2026, 5, 26)),
        (date(2026, 12, 24), 1, CHRISTMAS, date(2026, 12, 29)),
        (date(2026, 12, 25), 0, CHRISTMAS, date(2026, 12, 29)),
    ],
)
def test_r_e4_business_days_skip_weekends_and_holidays(
    day: date, count: int, holidays: frozenset[date], expected: date
) -> None:
    assert add_business_days(day, count, holidays) == expected


def test_r_e4_which_days_are_business_days() -> None:
    assert is_business_day(FRIDAY_MAY_15)
    assert not is_business_day(date(2026, 5, 16))
    assert not is_business_day(date(2026, 5, 17))
    assert not is_business_day(date(2026, 12, 25), CHRISTMAS)
    assert is_business_day(date(2026, 12, 24), CHRISTMAS)
    with pytest.raises(ValueError, match="not negative"):
        add_business_days(FRIDAY_MAY_15, -1)


@given(day=DAYS, count=st.integers(0, 15), holidays=st.frozensets(DAYS, max_size=5))
def test_r_e4_exactly_count_business_days_are_passed(
    day: date, count: int, holidays: frozenset[date]
) -> None:
    holidays |= {day + timedelta(days=offset) for offset in (1, 3)}
    result = add_business_days(day, count, holidays)
    assert is_business_day(result, holidays)
    between = [day + timedelta(days=n) for n in range(1, (result - day).days + 1)]
    if count == 0:
        assert not any(is_business_day(d, holidays) for d in [day, *between][:-1])
    else:
        assert sum(is_business_day(d, holidays) for d in between) == count


# --- R-L2: Fridays -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 5, 11), FRIDAY_MAY_15),
        (date(2026, 5, 12), FRIDAY_MAY_15),
        (date(2026, 5, 13), FRIDAY_MAY_15),
        (date(2026, 5, 14), FRIDAY_MAY_15),
        (FRIDAY_MAY_15, FRIDAY_MAY_15),
        (date(2026, 5, 16), date(2026, 5, 22)),
        (date(2026, 5, 17), date(2026, 5, 22)),
    ],
)
def test_r_l2_next_friday_for_each_weekday(day: date, expected: date) -> None:
    assert next_friday(day) == expected


@given(day=DAYS)
def test_r_l2_next_friday_is_the_first_friday_on_or_after(day: date) -> None:
    friday = next_friday(day)
    assert friday.isoweekday() == 5
    assert timedelta(0) <= friday - day < timedelta(days=7)


# --- R-L3: budget periods ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signup_day", "today", "start", "end"),
    [
        (15, date(2026, 5, 15), date(2026, 5, 15), date(2026, 6, 15)),
        (15, date(2026, 5, 14), date(2026, 4, 15), date(2026, 5, 15)),
        (15, date(2026, 6, 14), date(2026, 5, 15), date(2026, 6, 15)),
        (1, date(2026, 12, 31), date(2026, 12, 1), date(2027, 1, 1)),
        (31, date(2027, 2, 27), date(2027, 1, 31), date(2027, 2, 28)),
        (31, date(2027, 2, 28), date(2027, 2, 28), date(2027, 3, 31)),
        (31, date(2027, 3, 30), date(2027, 2, 28), date(2027, 3, 31)),
        (31, date(2027, 3, 31), date(2027, 3, 31), date(2027, 4, 30)),
        (31, date(2028, 2, 28), date(2028, 1, 31), date(2028, 2, 29)),
        (31, date(2028, 2, 29), date(2028, 2, 29), date(2028, 3, 31)),
        (30, date(2027, 3, 1), date(2027, 2, 28), date(2027, 3, 30)),
    ],
)
def test_r_l3_budget_resets_on_the_signup_day(
    signup_day: int, today: date, start: date, end: date
) -> None:
    assert budget_period(signup_day, today) == p(start, end)


@given(signup_day=st.integers(1, 31), today=DAYS)
def test_r_l3_budget_period_holds_today_and_meets_the_next(signup_day: int, today: date) -> None:
    period = budget_period(signup_day, today)
    assert today in period
    assert on_anchor_day(period.start, signup_day)
    assert month_index(period.end) - month_index(period.start) == 1
    assert budget_period(signup_day, period.end).start == period.end
    assert budget_period(signup_day, period.end - timedelta(days=1)) == period


# --- R-X7: business dates in the partner's time zone ---------------------------------------


@pytest.mark.parametrize(
    ("instant", "time_zone", "expected"),
    [
        # New York springs forward at 07:00Z; the date does not change with the clock.
        ("2026-03-08T06:59:59", "America/New_York", date(2026, 3, 8)),
        ("2026-03-08T07:00:00", "America/New_York", date(2026, 3, 8)),
        # Local midnight is 05:00Z before the change and 04:00Z after it.
        ("2026-03-08T04:59:59", "America/New_York", date(2026, 3, 7)),
        ("2026-03-08T05:00:00", "America/New_York", date(2026, 3, 8)),
        ("2026-03-09T03:59:59", "America/New_York", date(2026, 3, 8)),
        ("2026-03-09T04:00:00", "America/New_York", date(2026, 3, 9)),
        # Madrid: midnight is 23:00Z in winter (CET) and 22:00Z in summer (CEST).
        ("2026-03-28T22:59:59", "Europe/Madrid", date(2026, 3, 28)),
        ("2026-03-28T23:00:00", "Europe/Madrid", date(2026, 3, 29)),
        ("2026-03-29T21:59:59", "Europe/Madrid", date(2026, 3, 29)),
        ("2026-03-29T22:00:00", "Europe/Madrid", date(2026, 3, 30)),
        ("2026-10-24T22:00:00", "Europe/Madrid", date(2026, 10, 25)),
        ("2026-10-25T22:59:59", "Europe/Madrid", date(2026, 10, 25)),
        ("2026-10-25T23:00:00", "Europe/Madrid", date(2026, 10, 26)),
        # Sydney falls back on 5 April: midnight is 13:00Z (AEDT) and then 14:00Z (AEST).
        ("2026-04-04T12:59:59", "Australia/Sydney", date(2026, 4, 4)),
        ("2026-04-04T13:00:00", "Australia/Sydney", date(2026, 4, 5)),
        ("2026-04-05T13:59:59", "Australia/Sydney", date(2026, 4, 5)),
        ("2026-04-05T14:00:00", "Australia/Sydney", date(2026, 4, 6)),
    ],
)
def test_r_x7_business_date_across_dst(instant: str, time_zone: str, expected: date) -> None:
    assert business_date(utc(instant), time_zone) == expected


def test_r_x7_business_date_refuses_naive_instants_and_unknown_zones() -> None:
    lima = timezone(timedelta(hours=-5))
    assert business_date(datetime(2026, 1, 1, 23, 30, tzinfo=lima), "Europe/Madrid") == date(
        2026, 1, 2
    )
    with pytest.raises(ValueError, match="needs a time zone"):
        business_date(utc("2026-01-01T12:00:00").replace(tzinfo=None), "Europe/Madrid")
    with pytest.raises(UnknownTimeZone):
        business_date(utc("2026-01-01T12:00:00"), "Mars/Olympus_Mons")
    with pytest.raises(UnknownTimeZone):
        start_of_business_day(date(2026, 1, 1), "Mars/Olympus_Mons")


@pytest.mark.parametrize(
    ("day", "time_zone", "expected"),
    [
        (date(2026, 3, 8), "America/New_York", "2026-03-08T05:00:00"),
        (date(2026, 3, 9), "America/New_York", "2026-03-09T04:00:00"),
        (date(2026, 11, 1), "America/New_York", "2026-11-01T04:00:00"),
        (date(2026, 11, 2), "America/New_York", "2026-11-02T05:00:00"),
        # Santiago jumps from 00:00 -04 to 01:00 -03 at 04:00Z: the day begins at the jump.
        (date(2026, 9, 6), "America/Santiago", "2026-09-06T04:00:00"),
        # ...and goes back from 00:00 -03 to 23:00 -04 the day before: midnight is at 04:00Z.
        (date(2026, 4, 5), "America/Santiago", "2026-04-05T04:00:00"),
        # Havana skips midnight in March and has it twice in November (04:00Z, then 05:00Z).
        (date(2024, 3, 10), "America/Havana", "2024-03-10T05:00:00"),
        (date(2024, 11, 3), "America/Havana", "2024-11-03T04:00:00"),
        # Toronto jumped from 23:30 EST to 00:30 EDT in 1919: midnight lay inside the gap.
        (date(1919, 3, 31), "America/Toronto", "1919-03-31T04:30:00"),
        # Samoa skipped 30 December 2011 crossing the date line: it "begins" with the 31st.
        (date(2011, 12, 30), "Pacific/Apia", "2011-12-30T10:00:00"),
        (date(2011, 12, 31), "Pacific/Apia", "2011-12-30T10:00:00"),
    ],
)
def test_r_x7_start_of_business_day(day: date, time_zone: str, expected: str) -> None:
    start = start_of_business_day(day, time_zone)
    assert start == utc(expected)
    assert start.tzinfo is UTC
    assert business_date(start - SECOND, time_zone) < day


@settings(max_examples=200)
@given(day=DAYS, time_zone=ZONES)
def test_r_x7_a_day_begins_on_itself_and_not_a_second_earlier(day: date, time_zone: str) -> None:
    start = start_of_business_day(day, time_zone)
    assert business_date(start, time_zone) == day
    assert business_date(start - SECOND, time_zone) == day - timedelta(days=1)


@settings(max_examples=200)
@given(instant=INSTANTS, time_zone=ZONES)
def test_r_x7_business_date_is_stable_across_dst(instant: datetime, time_zone: str) -> None:
    start = start_of_business_day(business_date(instant, time_zone), time_zone)
    assert start <= instant
    assert instant - start < timedelta(hours=25)


# --- Proration -----------------------------------------------------------------------------


def test_prorate_fraction_is_days_over_days() -> None:
    may = p(date(2026, 5, 1), date(2026, 6, 1))
    assert prorate_fraction(p(date(2026, 5, 17), date(2026, 6, 1)), may) == Decimal(
        "0.4838709677419354838709677419"
    )
    assert prorate_fraction(
        p(date(2026, 6, 1), date(2026, 6, 16)), p(date(2026, 6, 1), date(2026, 7, 1))
    ) == Decimal("0.5")
    assert prorate_fraction(may, may) == 1
    with localcontext(prec=3, rounding=ROUND_DOWN):
        assert prorate_fraction(p(date(2026, 5, 17), date(2026, 6, 1)), may) == Decimal(
            "0.4838709677419354838709677419"
        )
    with pytest.raises(ValueError, match="not within"):
        prorate_fraction(p(date(2026, 4, 30), date(2026, 5, 2)), may)


@given(start=DAYS, whole_days=st.integers(2, 400), data=st.data())
def test_prorate_fractions_of_a_split_period_add_up(
    start: date, whole_days: int, data: st.DataObject
) -> None:
    split = start + timedelta(days=data.draw(st.integers(1, whole_days - 1)))
    whole = p(start, start + timedelta(days=whole_days))
    head, tail = (
        prorate_fraction(p(start, split), whole),
        prorate_fraction(p(split, whole.end), whole),
    )
    assert abs(Fraction(head) - Fraction((split - start).days, whole_days)) < Fraction(1, 10**27)
    assert abs(Fraction(head + tail) - 1) < Fraction(1, 10**26)


@pytest.mark.parametrize("time_zone", SAMPLE_ZONES)
def test_r_x7_every_day_of_three_years_begins_on_itself(time_zone: str) -> None:
    # Random days rarely land on a clock change, so sweep three whole years in each zone.
    day, start = date(2024, 1, 1), start_of_business_day(date(2024, 1, 1), time_zone)
    while day < date(2027, 1, 1):
        following = start_of_business_day(day + timedelta(days=1), time_zone)
        assert business_date(start, time_zone) == day
        assert business_date(start - SECOND, time_zone) == day - timedelta(days=1)
        assert timedelta(hours=23) <= following - start <= timedelta(hours=25)
        day, start = day + timedelta(days=1), following
