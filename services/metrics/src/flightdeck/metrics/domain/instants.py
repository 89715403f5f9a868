"""Points in time as integer microseconds since the epoch, and UTC days, weeks and months.

Projections keep times as integers so that durations and bucket boundaries are exact and
identical on every database.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SECOND_US = 1_000_000
HOUR_US = 3600 * SECOND_US
DAY_US = 24 * HOUR_US


def to_us(moment: datetime) -> int:
    """Microseconds since the epoch of an aware datetime."""
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * SECOND_US + delta.microseconds


def from_us(micros: int) -> datetime:
    """The aware UTC datetime of `micros`."""
    return EPOCH + timedelta(microseconds=micros)


def parse_us(text: str) -> int:
    """Microseconds of an RFC 3339 time (as stored in event data)."""
    return to_us(datetime.fromisoformat(text))


def day_of(micros: int) -> int:
    """The UTC day number (days since 1970-01-01) holding `micros`."""
    return micros // DAY_US


def date_of_day(day: int) -> date:
    """The calendar date of a day number."""
    return date(1970, 1, 1) + timedelta(days=day)


def day_of_date(value: date) -> int:
    """The day number of a calendar date."""
    return (value - date(1970, 1, 1)).days


def week_start_day(day: int) -> int:
    """The day number of the Monday starting the ISO week of `day` (1970-01-01 was a Thursday)."""
    return day - (day + 3) % 7


def month_start_day(day: int) -> int:
    """The day number of the first of the month of `day`."""
    return day_of_date(date_of_day(day).replace(day=1))


def next_month_day(day: int) -> int:
    """The day number of the first of the month after the month of `day`."""
    first = date_of_day(month_start_day(day))
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return day_of_date(following)
