"""Blackout expansion on local wall-clock time across DST, and business hours."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from flightdeck.governance.domain.calendar import (
    Blackout,
    blackouts_touching,
    occurrences,
    within_business_hours,
)
from flightdeck.governance.domain.policy import BusinessHours

# Every Friday 09:00-17:00 London time, first on 20 March 2026 (GMT); BST starts 29 March.
FRIDAYS = Blackout(
    id="b1",
    name="Friday freeze",
    starts_at=datetime(2026, 3, 20, 9, 0, tzinfo=UTC),
    ends_at=datetime(2026, 3, 20, 17, 0, tzinfo=UTC),
    timezone="Europe/London",
    rrule="FREQ=WEEKLY;BYDAY=FR",
    services=("checkout",),
)


def test_weekly_blackout_keeps_local_hours_across_dst() -> None:
    found = occurrences(
        FRIDAYS, datetime(2026, 3, 16, tzinfo=UTC), datetime(2026, 4, 6, tzinfo=UTC)
    )
    starts = [o.starts_at for o in found]
    assert starts == [
        datetime(2026, 3, 20, 9, 0, tzinfo=UTC),  # GMT
        datetime(2026, 3, 27, 9, 0, tzinfo=UTC),
        datetime(2026, 4, 3, 8, 0, tzinfo=UTC),  # 09:00 BST
    ]
    assert all(o.ends_at - o.starts_at == timedelta(hours=8) for o in found)


def test_until_in_utc_and_count_limit_the_rule() -> None:
    until = replace(FRIDAYS, rrule="FREQ=WEEKLY;BYDAY=FR;UNTIL=20260328T000000Z")
    found = occurrences(until, datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC))
    assert len(found) == 2


def test_one_off_blackout_and_scope() -> None:
    one_off = Blackout(
        id="b3",
        name="campaign",
        starts_at=datetime(2026, 11, 27, 0, 0, tzinfo=UTC),
        ends_at=datetime(2026, 11, 30, 0, 0, tzinfo=UTC),
        timezone="UTC",
        teams=("growth",),
    )
    inside = (datetime(2026, 11, 28, 10, tzinfo=UTC), datetime(2026, 11, 28, 11, tzinfo=UTC))
    assert blackouts_touching([one_off], ["search"], "growth", *inside)
    assert not blackouts_touching([one_off], ["search"], "payments", *inside)
    after = (datetime(2026, 11, 30, 0, tzinfo=UTC), datetime(2026, 11, 30, 1, tzinfo=UTC))
    assert not blackouts_touching([one_off], ["search"], "growth", *after)


def test_a_broken_rule_falls_back_to_the_first_period() -> None:
    broken = replace(FRIDAYS, rrule="FREQ=SOMETIMES")
    found = occurrences(broken, datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC))
    assert [o.starts_at for o in found] == [FRIDAYS.starts_at]


def test_business_hours_are_local() -> None:
    hours = BusinessHours(timezone="Europe/London", opens=time(9), closes=time(17))
    summer_monday_9_bst = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    assert within_business_hours(
        hours, summer_monday_9_bst, summer_monday_9_bst + timedelta(hours=8)
    )
    assert not within_business_hours(
        hours, summer_monday_9_bst - timedelta(minutes=1), summer_monday_9_bst + timedelta(hours=1)
    )
    saturday = datetime(2026, 6, 6, 10, 0, tzinfo=UTC)
    assert not within_business_hours(hours, saturday, saturday + timedelta(hours=1))
    overnight = datetime(2026, 6, 1, 15, 0, tzinfo=UTC)
    assert not within_business_hours(hours, overnight, overnight + timedelta(days=1))


@pytest.mark.parametrize(
    "changes",
    [
        {"timezone": "Mars/Olympus_Mons"},
        {"timezone": "../etc/passwd"},
        {"timezone": "Europe/" + "x" * 300},  # too long for a file name: OSError, not a 500
        {"ends_at": FRIDAYS.starts_at},
    ],
)
def test_a_blackout_governance_cannot_compute_with_is_refused(changes: dict[str, Any]) -> None:
    # Stored, it would break every later risk score and conflicts question.
    with pytest.raises(ValueError, match="blackout b1"):
        replace(FRIDAYS, **changes)


def test_business_hours_in_a_zone_name_too_long_for_a_file_is_invalid() -> None:
    with pytest.raises(ValueError, match="unknown IANA time zone"):
        BusinessHours(timezone="Europe/" + "x" * 300)


def test_rules_repeating_more_often_than_hourly_count_as_their_first_period() -> None:
    minutely = replace(FRIDAYS, rrule="FREQ=MINUTELY", ends_at=FRIDAYS.starts_at + timedelta(1))
    later = (datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 9, 2, tzinfo=UTC))
    assert occurrences(minutely, *later) == []
    [first] = occurrences(minutely, FRIDAYS.starts_at, FRIDAYS.starts_at + timedelta(hours=1))
    assert first.starts_at == FRIDAYS.starts_at
