"""Query parameters shared by the analyst endpoints, checked together (422 lists each error)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal, TypeVar

from fastapi import Depends, Query

from flightdeck.events.catalogue.common import EnvironmentTier
from flightdeck.events.types import UtcDatetime
from flightdeck.kit.deps import Ctx
from flightdeck.kit.pagination import Page, check_limit, decode_cursor, encode_cursor
from flightdeck.kit.problems import Problem, invalid
from flightdeck.kit.times import EARLIEST, LATEST
from flightdeck.metrics.domain.dora import Bucket, Filters, Window
from flightdeck.metrics.domain.instants import to_us

DEFAULT_SPAN = timedelta(days=90)
MAX_SERIES_SPANS = {
    Bucket.DAY: (timedelta(days=5 * 366), "five years"),
    Bucket.WEEK: (timedelta(days=50 * 366), "50 years"),
    Bucket.MONTH: (timedelta(days=200 * 366), "200 years"),
}
"""The longest window each bucket size takes: at most a few thousand buckets (day buckets
over more than five years would be too many rows for anyone to read)."""
MAX_KEY = 2**63 - 1
"""Cursor keys are 64-bit signed integers in the database."""

R = TypeVar("R")
V = TypeVar("V")

BenchmarkYear = Literal["2021", "2023"]
"""The years of `domain.benchmarks.BENCHMARKS` (a test keeps them equal)."""
LeadTimeStart = Literal["authored", "merged"]


@dataclass(frozen=True, slots=True)
class Period:
    """The window asked for (defaults: the last 90 days up to now)."""

    start: datetime
    end: datetime

    @property
    def window(self) -> Window:
        return Window(to_us(self.start), to_us(self.end))


def _window_errors(start: datetime | None, end: datetime | None) -> list[dict[str, Any]]:
    """What is wrong with a `from`/`to` pair (either may be missing)."""
    errors = [
        {
            "location": f"query.{name}",
            "message": f"{name} must lie between 1970-01-01 and 3000-01-01 (UTC)",
            "type": "out_of_range",
        }
        for name, moment in (("from", start), ("to", end))
        if moment is not None and not EARLIEST <= moment <= LATEST
    ]
    if not errors and start is not None and end is not None and start > end:
        errors.append(
            {"location": "query.from", "message": "from is after to", "type": "window_order"}
        )
    return errors


def _check_window(start: datetime | None, end: datetime | None) -> None:
    errors = _window_errors(start, end)
    if errors:
        raise invalid(errors[-1]["message"] if len(errors) == 1 else "invalid window", errors)


FromQuery = Annotated[
    UtcDatetime | None,
    Query(alias="from", description="RFC 3339 with offset, inclusive; default to minus 90 days"),
]
ToQuery = Annotated[
    UtcDatetime | None,
    Query(alias="to", description="RFC 3339 with offset, exclusive; default now"),
]


def period(context: Ctx, start: FromQuery = None, end: ToQuery = None) -> Period:
    """The `[from, to)` window; 422 when `from` is after `to` or either lies outside
    1970..3000. A missing `from` is 90 days before `to` (not before 1970)."""
    _check_window(start, end)
    end = end or context.clock()
    start = start or max(end - DEFAULT_SPAN, EARLIEST)
    _check_window(start, end)
    return Period(start, end)


@dataclass(frozen=True, slots=True)
class Bounds:
    """An optional `[from, to)` (the event log's filter)."""

    start: datetime | None
    end: datetime | None


def bounds(start: FromQuery = None, end: ToQuery = None) -> Bounds:
    """`from`/`to` without defaults; the same 422s as `period`."""
    _check_window(start, end)
    return Bounds(start, end)


def filters(
    service: Annotated[list[str] | None, Query(description="one or more services")] = None,
    team: Annotated[list[str] | None, Query(description="one or more teams")] = None,
    environment_tier: EnvironmentTier = EnvironmentTier.PRODUCTION,
    lead_time_start: LeadTimeStart = "authored",
) -> Filters:
    """Which services, teams and tier; where lead time starts. 422 for an empty `service` or
    `team` (it would silently match deployments of no known team, and no failure)."""
    empty = [
        {"location": f"query.{name}", "message": f"{name} must not be empty", "type": "empty"}
        for name, values in (("service", service), ("team", team))
        if values is not None and any(not value.strip() for value in values)
    ]
    if empty:
        raise invalid("empty filter value", empty)
    return Filters(
        services=tuple(service or ()),
        teams=tuple(team or ()),
        environment_tier=environment_tier.value,
        lead_time_start=lead_time_start,
    )


@dataclass(frozen=True, slots=True)
class PageRequest:
    cursor: str | None
    limit: int

    def key(self, *types: type) -> list[Any] | None:
        """The sort key held by the cursor (422 when it is not one of ours, or holds an
        integer no database column can)."""
        key = decode_cursor(self.cursor, *types)
        if key is not None and any(isinstance(p, int) and abs(p) > MAX_KEY for p in key):
            raise Problem(422, "cursor is not valid", slug="invalid-cursor")
        return key

    @property
    def fetch(self) -> int:
        """How many rows to read: one more than the limit, to know whether a page follows."""
        return self.limit + 1

    def time_key(self) -> tuple[int, str] | None:
        """The (time, id) key of a drill-down cursor."""
        parts = self.key(int, str)
        return (parts[0], parts[1]) if parts else None

    def log_key(self) -> tuple[int, int] | None:
        """The (transaction, sequence number) key of an event-log cursor."""
        parts = self.key(int, int)
        return (parts[0], parts[1]) if parts else None

    def page(
        self, rows: Sequence[R], view: Callable[[R], V], key: Callable[[R], tuple[Any, ...]]
    ) -> Page[V]:
        """The page of `rows` (fetched with one row more than the limit, to know whether a
        next page exists), each shown by `view`, with the cursor after the last one."""
        items = [view(row) for row in rows[: self.limit]]
        more = len(rows) > self.limit
        return Page(
            items=items, next_cursor=encode_cursor(*key(rows[self.limit - 1])) if more else None
        )


def page(
    cursor: Annotated[str | None, Query(description="from the previous page")] = None,
    limit: Annotated[int, Query(description="1 to 500")] = 100,
) -> PageRequest:
    """Cursor and page size."""
    return PageRequest(cursor, check_limit(limit))


def check_bucket(bucket: Bucket, chosen: Period) -> None:
    """422 for a series of too many buckets (day buckets over more than five years)."""
    if bucket is Bucket.NONE:
        return
    longest, said = MAX_SERIES_SPANS[bucket]
    if chosen.end - chosen.start > longest:
        raise invalid(
            f"bucket={bucket.value} is limited to windows of {said}",
            [
                {
                    "location": "query.bucket",
                    "message": f"window too long for {bucket.value} buckets",
                    "type": "too_many_buckets",
                }
            ],
        )


Chosen = Annotated[Period, Depends(period)]
Filtered = Annotated[Filters, Depends(filters)]
Paged = Annotated[PageRequest, Depends(page)]
Bounded = Annotated[Bounds, Depends(bounds)]
