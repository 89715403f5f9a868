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
from flightdeck.kit.problems import invalid
from flightdeck.metrics.domain.dora import Bucket, Filters, Window
from flightdeck.metrics.domain.instants import to_us

DEFAULT_SPAN = timedelta(days=90)
MAX_DAY_BUCKETS_SPAN = timedelta(days=5 * 366)
"""Day buckets over more than five years would be too many rows for anyone to read."""

R = TypeVar("R")
V = TypeVar("V")

BenchmarkYear = Literal["2021", "2023"]
LeadTimeStart = Literal["authored", "merged"]


@dataclass(frozen=True, slots=True)
class Period:
    """The window asked for (defaults: the last 90 days up to now)."""

    start: datetime
    end: datetime

    @property
    def window(self) -> Window:
        return Window(to_us(self.start), to_us(self.end))


def period(
    context: Ctx,
    start: Annotated[
        UtcDatetime | None,
        Query(alias="from", description="RFC 3339 with offset; default to minus 90 days"),
    ] = None,
    end: Annotated[
        UtcDatetime | None, Query(alias="to", description="RFC 3339 with offset; default now")
    ] = None,
) -> Period:
    """The `from`/`to` window; 422 when `from` is after `to`."""
    end = end or context.clock()
    start = start or end - DEFAULT_SPAN
    if start > end:
        raise invalid(
            "from must not be after to",
            [{"location": "query.from", "message": "from is after to", "type": "window_order"}],
        )
    return Period(start, end)


def filters(
    service: Annotated[list[str] | None, Query(description="one or more services")] = None,
    team: Annotated[list[str] | None, Query(description="one or more teams")] = None,
    environment_tier: EnvironmentTier = EnvironmentTier.PRODUCTION,
    lead_time_start: LeadTimeStart = "authored",
) -> Filters:
    """Which services, teams and tier; where lead time starts."""
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
        """The sort key held by the cursor (422 when it is not one of ours)."""
        return decode_cursor(self.cursor, *types)

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
    """422 for day buckets over more than five years."""
    if bucket is Bucket.DAY and chosen.end - chosen.start > MAX_DAY_BUCKETS_SPAN:
        raise invalid(
            "bucket=day is limited to windows of five years",
            [
                {
                    "location": "query.bucket",
                    "message": "window too long for day buckets",
                    "type": "too_many_buckets",
                }
            ],
        )


Chosen = Annotated[Period, Depends(period)]
Filtered = Annotated[Filters, Depends(filters)]
Paged = Annotated[PageRequest, Depends(page)]
