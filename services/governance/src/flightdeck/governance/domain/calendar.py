"""The business calendar governance mirrors from planning: blackout periods (expanded from
RFC 5545 rules on local wall-clock time in their IANA zone) and business hours."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import HOURLY, rrule, rrulestr

from flightdeck.governance.domain.policy import BusinessHours

log = logging.getLogger(__name__)

MAX_OCCURRENCES = 1000
"""Occurrences considered per blackout and query (a guard against minutely rules)."""


@dataclass(frozen=True, slots=True)
class Blackout:
    """A period when changes are unwelcome; empty `services` and `teams` mean everyone.
    ValueError for an unknown time zone or a period ending before it starts."""

    id: str
    name: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    rrule: str | None = None
    services: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # OSError: a name too long
            zone = self.timezone
            raise ValueError(f"blackout {self.id}: unknown IANA time zone {zone!r}") from exc
        if self.ends_at <= self.starts_at:
            raise ValueError(f"blackout {self.id} ends before it starts")

    def applies_to(self, services: Iterable[str], team: str | None) -> bool:
        """Whether the blackout covers a change on `services` by `team`."""
        if not self.services and not self.teams:
            return True
        return bool(set(self.services) & set(services)) or (team is not None and team in self.teams)


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One period of a blackout, in UTC."""

    blackout: Blackout
    starts_at: datetime
    ends_at: datetime


def occurrences(blackout: Blackout, start: datetime, end: datetime) -> list[Occurrence]:
    """The blackout's periods overlapping `[start, end)`. A recurring blackout repeats its
    first period's local start and local length (so 09:00-17:00 stays 09:00-17:00 local
    across DST changes)."""
    zone = ZoneInfo(blackout.timezone)
    first_start = blackout.starts_at.astimezone(zone)
    local_length = blackout.ends_at.astimezone(zone).replace(tzinfo=None) - first_start.replace(
        tzinfo=None
    )
    if not blackout.rrule:
        starts = [first_start.replace(tzinfo=None)]
    else:
        starts = _local_starts(blackout, first_start, local_length, start, end, zone)
    found = []
    for local in starts:
        begins = local.replace(tzinfo=zone).astimezone(UTC)
        ends = (local + local_length).replace(tzinfo=zone).astimezone(UTC)
        if begins < end and ends > start:
            found.append(Occurrence(blackout, begins, ends))
    return found


def _local_starts(
    blackout: Blackout,
    first_start: datetime,
    length: timedelta,
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
) -> list[datetime]:
    """Local (naive, wall-clock) starts of the rule's periods that may touch the window."""
    naive_first = first_start.replace(tzinfo=None)
    low = start.astimezone(zone).replace(tzinfo=None) - length - timedelta(days=1)
    high = end.astimezone(zone).replace(tzinfo=None) + timedelta(days=1)
    text = blackout.rrule or ""
    try:
        rule = rrulestr(text, dtstart=naive_first)
        found = _starts_between(rule, low, high)
    except (ValueError, TypeError):
        try:  # an UNTIL in UTC needs an aware start: compare on aware local times
            rule = rrulestr(text, dtstart=first_start)
            aware = _starts_between(rule, low.replace(tzinfo=zone), high.replace(tzinfo=zone))
            found = [moment.replace(tzinfo=None) for moment in aware]
        except (ValueError, TypeError):
            log.warning(
                "blackout %s has an unusable rule %r; using its first period", blackout.id, text
            )
            return [naive_first]
    return found[:MAX_OCCURRENCES]


def _starts_between(rule: object, low: datetime, high: datetime) -> list[datetime]:
    """The rule's starts in `[low, high]`. Rules repeating more often than hourly (planning
    refuses them) would cost a walk through every minute since the first period: refused."""
    if not isinstance(rule, rrule) or rule._freq > HOURLY:  # type: ignore[attr-defined]
        raise ValueError("expected a single rule recurring at most hourly")
    found: list[datetime] = rule.between(low, high, inc=True)
    return found


def blackouts_touching(
    blackouts: Iterable[Blackout],
    services: Iterable[str],
    team: str | None,
    start: datetime,
    end: datetime,
) -> list[Occurrence]:
    """Periods of the applicable blackouts overlapping `[start, end)`."""
    touched = list(services)
    found: list[Occurrence] = []
    for blackout in blackouts:
        if blackout.applies_to(touched, team):
            found += occurrences(blackout, start, end)
    return found


def within_business_hours(hours: BusinessHours, start: datetime, end: datetime) -> bool:
    """Whether `[start, end]` lies within one business day's opening hours."""
    zone = ZoneInfo(hours.timezone)
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    return (
        local_start.date() == local_end.date()
        and local_start.weekday() in hours.days
        and hours.opens <= local_start.time()
        and local_end.time() <= hours.closes
    )
