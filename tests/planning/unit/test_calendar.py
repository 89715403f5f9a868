"""Blackout recurrence on local wall-clock time, DST changes, conflicts, next free start."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flightdeck.events.catalogue.planning import BlackoutReason
from flightdeck.planning.domain.calendar import (
    Blackout,
    blackout_errors,
    conflicts,
    next_free_start,
    occurrences,
    to_utc,
)

BERLIN = ZoneInfo("Europe/Berlin")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def blackout(
    start: datetime, end: datetime, rule: str | None = None, zone: str = "Europe/Berlin"
) -> Blackout:
    return Blackout(
        id="b1",
        name="Saturday peak",
        reason=BlackoutReason.PEAK,
        starts_at=start,
        ends_at=end,
        timezone=zone,
        rrule=rule,
    )


def test_weekly_blackout_keeps_local_hours_across_the_march_dst_change() -> None:
    # Saturdays 10:00-14:00 in Berlin from 21 March 2026; clocks go forward on 29 March.
    weekly = blackout(
        datetime(2026, 3, 21, 10, tzinfo=BERLIN),
        datetime(2026, 3, 21, 14, tzinfo=BERLIN),
        "FREQ=WEEKLY;BYDAY=SA",
    )
    found = occurrences(weekly, utc(2026, 3, 20), utc(2026, 4, 12))
    assert [(o.starts_at, o.ends_at) for o in found] == [
        (utc(2026, 3, 21, 9), utc(2026, 3, 21, 13)),  # CET, UTC+1
        (utc(2026, 3, 28, 9), utc(2026, 3, 28, 13)),
        (utc(2026, 4, 4, 8), utc(2026, 4, 4, 12)),  # CEST, UTC+2: same local hours
        (utc(2026, 4, 11, 8), utc(2026, 4, 11, 12)),
    ]
    local = {o.starts_at.astimezone(BERLIN).hour for o in found}
    assert local == {10}


def test_until_in_utc_and_count_bound_the_recurrence() -> None:
    start = datetime(2026, 3, 21, 10, tzinfo=BERLIN)
    until = blackout(start, start + timedelta(hours=1), "FREQ=DAILY;UNTIL=20260323T235959Z")
    assert len(occurrences(until, utc(2026, 3, 1), utc(2026, 5, 1))) == 3
    counted = blackout(start, start + timedelta(hours=1), "RRULE:FREQ=WEEKLY;COUNT=2")
    assert len(occurrences(counted, utc(2026, 3, 1), utc(2027, 1, 1))) == 2


def test_a_local_time_in_the_spring_gap_maps_to_the_transition() -> None:
    # 02:30 on 29 March 2026 does not exist in Berlin (02:00 jumps to 03:00 = 01:00 UTC).
    assert to_utc(datetime(2026, 3, 29, 2, 30), BERLIN, later=False) == utc(2026, 3, 29, 1)
    nightly = blackout(
        datetime(2026, 3, 28, 2, 30, tzinfo=BERLIN),
        datetime(2026, 3, 28, 3, 30, tzinfo=BERLIN),
        "FREQ=DAILY;COUNT=2",
    )
    second = occurrences(nightly, utc(2026, 3, 29), utc(2026, 3, 30))
    # Only 03:00-03:30 of that wall-clock period exists that night.
    assert [(o.starts_at, o.ends_at) for o in second] == [
        (utc(2026, 3, 29, 1), utc(2026, 3, 29, 1, 30))
    ]


def test_an_ambiguous_autumn_time_covers_the_whole_wall_clock_period() -> None:
    # 02:00-03:00 happens twice on 25 October 2026 (CEST then CET).
    start = to_utc(datetime(2026, 10, 25, 2, 30), BERLIN, later=False)
    end = to_utc(datetime(2026, 10, 25, 2, 30), BERLIN, later=True)
    assert (start, end) == (utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 30))


def test_bad_rules_and_zones_are_reported() -> None:
    start, end = utc(2026, 3, 1, 9), utc(2026, 3, 1, 10)
    assert blackout_errors(start, end, "Europe/Berlin", "FREQ=WEEKLY;BYDAY=SA") == []
    for rule in ("garbage", "FREQ=DAILY;INTERVAL=0", "FREQ=MINUTELY", "FREQ=DAILY;COUNT=0"):
        errors = blackout_errors(start, end, "Europe/Berlin", rule)
        assert [e.location for e in errors] == ["body.rrule"], rule
    errors = blackout_errors(end, start, "Mars/Olympus", None)
    assert [e.location for e in errors] == ["body.ends_at", "body.timezone"]
    # 200 characters, 400 bytes: longer than a file name may be, not a crash.
    errors = blackout_errors(start, end, "é" * 200, None)
    assert [e.location for e in errors] == ["body.timezone"]


def test_conflicts_and_next_free_start_skip_adjacent_occurrences() -> None:
    daily = blackout(utc(2026, 5, 1, 8), utc(2026, 5, 1, 10), "FREQ=DAILY", zone="UTC")
    lunch = Blackout(
        "b2", "Lunch freeze", BlackoutReason.OTHER, utc(2026, 5, 3, 10), utc(2026, 5, 3, 12), "UTC"
    )
    window = (utc(2026, 5, 3, 9), utc(2026, 5, 3, 11))
    found = conflicts([daily, lunch], *window)
    assert [o.blackout_id for o in found] == ["b1", "b2"]
    # 8-10 daily, then 10-12 on the 3rd: a two-hour slot first fits at 12:00.
    assert next_free_start([daily, lunch], window[0], timedelta(hours=2)) == utc(2026, 5, 3, 12)
    # Twenty-three hours never fit between daily two-hour blackouts.
    assert next_free_start([daily], window[0], timedelta(hours=23)) is None


def test_scoping_by_service_or_team() -> None:
    scoped = Blackout(
        "b3",
        "Payments freeze",
        BlackoutReason.REGULATORY,
        utc(2026, 5, 1),
        utc(2026, 5, 2),
        "UTC",
        services=("payments",),
        teams=("risk",),
    )
    assert scoped.applies_to(["payments", "web"], None)
    assert scoped.applies_to(["web"], "risk")
    assert not scoped.applies_to(["web"], "growth")
    assert blackout(utc(2026, 5, 1), utc(2026, 5, 2)).applies_to(["anything"], None)


def test_rules_starting_more_than_once_an_hour_are_refused() -> None:
    # FREQ alone does not bound the density: BYMINUTE or BYSECOND lists do too.
    start, end = utc(2026, 3, 1, 9), utc(2026, 3, 1, 10)
    dense = (
        "FREQ=DAILY;BYHOUR=9,10;BYMINUTE=0,5",
        "FREQ=HOURLY;BYMINUTE=0,30",
        "FREQ=HOURLY;BYSECOND=1,2",
        "FREQ=WEEKLY;COUNT=3;UNTIL=20270101T000000Z",  # RFC 5545: one or the other
    )
    for rule in dense:
        errors = blackout_errors(start, end, "Europe/Berlin", rule)
        assert [e.location for e in errors] == ["body.rrule"], rule
    for rule in ("FREQ=DAILY;BYHOUR=0,6,12,18;BYMINUTE=30", "FREQ=HOURLY;INTERVAL=2"):
        assert blackout_errors(start, end, "Europe/Berlin", rule) == [], rule


def test_the_declared_period_is_the_first_occurrence_exactly() -> None:
    # 01:30-02:30 UTC on 25 October 2026 is 02:30-03:30 CET, after the fold: the declared
    # instants stand, not the earlier (CEST) instance of the same wall-clock time.
    once = blackout(utc(2026, 10, 25, 1, 30), utc(2026, 10, 25, 2, 30))
    assert [
        (o.starts_at, o.ends_at) for o in occurrences(once, utc(2026, 10, 24), utc(2026, 10, 26))
    ] == [(utc(2026, 10, 25, 1, 30), utc(2026, 10, 25, 2, 30))]
    # Declared on a Friday with a Saturday rule: the Friday is blacked out too.
    friday = blackout(
        datetime(2026, 3, 20, 10, tzinfo=BERLIN),
        datetime(2026, 3, 20, 14, tzinfo=BERLIN),
        "FREQ=WEEKLY;BYDAY=SA",
    )
    found = occurrences(friday, utc(2026, 3, 19), utc(2026, 3, 29))
    assert [o.starts_at for o in found] == [
        utc(2026, 3, 20, 9),
        utc(2026, 3, 21, 9),
        utc(2026, 3, 28, 9),
    ]
