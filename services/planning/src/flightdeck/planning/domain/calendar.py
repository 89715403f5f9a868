"""The business calendar: blackout periods, their occurrences across DST changes, conflicts
with a release window and the next free start.

Recurrence follows RFC 5545 on local wall-clock time: the RRULE is expanded in the
blackout's IANA zone from the local start, every occurrence lasts the same local duration,
and only then is it converted to UTC. Local times that a DST change makes special are
resolved so that an occurrence always covers its whole wall-clock period: a time skipped by
a spring-forward gap maps to the transition instant; a time repeated by a fall-back fold maps
to its first instance for a start and its second instance for an end.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import HOURLY, rrule, rrulestr

from flightdeck.events.catalogue.planning import BlackoutReason
from flightdeck.planning.domain.errors import InputError

SEARCH_HORIZON = timedelta(days=730)
"""How far `next_free_start` looks ahead before giving up."""

LONGEST_PERIOD = timedelta(days=366)
"""The longest blackout period (and release window): with a recurring rule, the occurrences
a check enumerates grow with it."""

_UTC_UNTIL = re.compile(r"UNTIL=\d{8}(T\d{6})?Z", re.IGNORECASE)

_MARGIN = timedelta(days=2)
"""Slack when mapping a UTC window to local time (offsets never exceed a day)."""


@dataclass(frozen=True)
class Blackout:
    """A period in which releases may not run; recurring when `rrule` is set."""

    id: str
    name: str
    reason: BlackoutReason
    starts_at: datetime
    ends_at: datetime
    timezone: str
    rrule: str | None = None
    services: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    declared_by: str = ""
    declared_at: datetime | None = None

    def applies_to(self, services: Iterable[str], team: str | None) -> bool:
        """Whether the blackout concerns a release of `services` by `team` (an unscoped
        blackout concerns everyone)."""
        if not self.services and not self.teams:
            return True
        return bool(set(self.services) & set(services)) or (team is not None and team in self.teams)


@dataclass(frozen=True)
class Occurrence:
    """One concrete blackout period, in UTC."""

    blackout_id: str
    name: str
    reason: BlackoutReason
    starts_at: datetime
    ends_at: datetime

    def overlaps(self, start: datetime, end: datetime) -> bool:
        """Whether it overlaps the half-open period [start, end)."""
        return self.starts_at < end and start < self.ends_at


def zone_errors(timezone: str, location: str = "body.timezone") -> list[InputError]:
    """The error for a time zone that does not exist, if it does not."""
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file
        return [InputError(location, f"unknown IANA time zone {timezone!r}", "timezone")]
    return []


def blackout_errors(
    starts_at: datetime, ends_at: datetime, timezone: str, rule: str | None
) -> list[InputError]:
    """Everything wrong with a blackout's period, zone and recurrence."""
    errors = []
    if ends_at <= starts_at:
        errors.append(InputError("body.ends_at", "ends_at must be after starts_at"))
    elif ends_at - starts_at > LONGEST_PERIOD:
        errors.append(InputError("body.ends_at", "a blackout period lasts 366 days at most"))
    errors += zone_errors(timezone)
    if rule is not None and not errors:
        try:
            recurrence = _parse(rule, starts_at.astimezone(ZoneInfo(timezone)))
            if recurrence.after(recurrence._dtstart, inc=True) is None:  # type: ignore[attr-defined]
                raise ValueError("the rule never produces an occurrence")
        except ValueError as exc:
            errors.append(InputError("body.rrule", f"not a usable RFC 5545 RRULE: {exc}", "rrule"))
    return errors


def _parse(rule: str, local_start: datetime) -> rrule:
    """The rule anchored at the local start; ValueError when it does not parse or is unusable.

    UNTIL in UTC (`...Z`) needs a zone-aware anchor in dateutil, a floating UNTIL a naive one;
    either way the iteration runs on local wall-clock time.
    """
    text = rule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[len("RRULE:") :]
    if not text or "\n" in text or ":" in text:
        raise ValueError("expected a single RRULE such as FREQ=WEEKLY;BYDAY=SA")
    parts = {part.split("=", 1)[0].strip().upper() for part in text.split(";")}
    if {"COUNT", "UNTIL"} <= parts:
        raise ValueError("COUNT and UNTIL may not both be given (RFC 5545)")
    anchor = local_start if _UTC_UNTIL.search(text) else local_start.replace(tzinfo=None)
    try:
        parsed = rrulestr(text, dtstart=anchor)
    except Exception as exc:  # dateutil raises assorted types for malformed rules
        raise ValueError(str(exc) or type(exc).__name__) from exc
    if not isinstance(parsed, rrule):
        raise ValueError("expected a single RRULE")
    if parsed._interval < 1:  # type: ignore[attr-defined]
        raise ValueError("INTERVAL must be at least 1")
    if parsed._freq > HOURLY:  # type: ignore[attr-defined]
        raise ValueError("blackouts recur at most hourly")
    # BYMINUTE or BYSECOND lists start several occurrences within one hour whatever FREQ
    # says (FREQ=DAILY;BYHOUR=...;BYMINUTE=0,5,...): the same limit, or a single rule
    # costs hundreds of thousands of occurrences per two-year search.
    if len(parsed._byminute or ()) > 1 or len(parsed._bysecond or ()) > 1:  # type: ignore[attr-defined]
        raise ValueError("blackouts recur at most hourly: one BYMINUTE and one BYSECOND at most")
    return parsed


def occurrences(blackout: Blackout, start: datetime, end: datetime) -> list[Occurrence]:
    """The occurrences of `blackout` overlapping [start, end), in time order.

    The declared period is always the first one, at exactly its declared instants (even at
    an ambiguous local time, or when the rule's pattern does not include it); the rule's
    later occurrences follow on local wall-clock time."""
    declared = Occurrence(
        blackout.id, blackout.name, blackout.reason, blackout.starts_at, blackout.ends_at
    )
    found = [declared] if declared.overlaps(start, end) else []
    if blackout.rrule is None:
        return found
    zone = ZoneInfo(blackout.timezone)
    local_start = _local(blackout.starts_at, zone)
    duration = _local(blackout.ends_at, zone) - local_start
    recurrence = _parse(blackout.rrule, blackout.starts_at.astimezone(zone))
    low, high = _local(start, zone) - duration - _MARGIN, _local(end, zone) + _MARGIN
    aware = recurrence._dtstart.tzinfo is not None  # type: ignore[attr-defined]
    bounds = (low.replace(tzinfo=zone), high.replace(tzinfo=zone)) if aware else (low, high)
    for moment in recurrence.between(*bounds, inc=True):
        local = moment.replace(tzinfo=None)
        if local == local_start.replace(microsecond=0):  # dateutil drops microseconds
            continue  # the declared period, already counted
        occurrence = Occurrence(
            blackout.id,
            blackout.name,
            blackout.reason,
            to_utc(local, zone, later=False),
            to_utc(local + duration, zone, later=True),
        )
        if occurrence.overlaps(start, end):
            found.append(occurrence)
    return found


def _local(moment: datetime, zone: ZoneInfo) -> datetime:
    """The naive local wall-clock time of an instant."""
    return moment.astimezone(zone).replace(tzinfo=None)


def to_utc(local: datetime, zone: ZoneInfo, *, later: bool) -> datetime:
    """The instant of a naive local time: a time in a DST gap maps to the transition; an
    ambiguous one to its later instance when `later`, else its earlier one."""
    first = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
    second = local.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if first == second:
        return first
    if _local(first, zone) == local:  # a fold: both instances exist
        return max(first, second) if later else min(first, second)
    return _transition(zone, min(first, second), max(first, second))


def _transition(zone: ZoneInfo, low: datetime, high: datetime) -> datetime:
    """The instant in (low, high] at which the zone's offset changes (bisection)."""
    before = low.astimezone(zone).utcoffset()
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).utcoffset() == before:
            low = middle
        else:
            high = middle
    return high.replace(microsecond=0)


def conflicts(blackouts: Iterable[Blackout], start: datetime, end: datetime) -> list[Occurrence]:
    """Every occurrence of `blackouts` overlapping [start, end), in time order."""
    found = [o for blackout in blackouts for o in occurrences(blackout, start, end)]
    return sorted(found, key=lambda o: (o.starts_at, o.blackout_id))


def next_free_start(
    blackouts: Sequence[Blackout],
    start: datetime,
    duration: timedelta,
    horizon: timedelta = SEARCH_HORIZON,
) -> datetime | None:
    """The earliest instant at or after `start` from which `duration` overlaps no occurrence
    of `blackouts`; None when there is none within `horizon`."""
    latest = start + horizon
    candidate = start
    for occurrence in conflicts(blackouts, start, latest + duration):
        if occurrence.ends_at <= candidate:
            continue
        if occurrence.starts_at >= candidate + duration:
            break
        candidate = occurrence.ends_at
        if candidate > latest:
            return None
    return candidate
