"""The DORA figures of a time window, and of each bucket of it, from the projected rows.

Definitions (DESIGN §4 and issue 5):
- a deployment belongs to the window or bucket holding its `finished_at`, a commit's lead
  time to the one holding its first deployment, a failure's recovery to the one holding its
  `detected_at`;
- `per_day` is the count over the days (fractional) of the window;
- `deploy_days_per_week_median` is the median over the calendar weeks (Monday 00:00 UTC) that
  overlap the window of the number of distinct UTC dates with a deployment, weeks without one
  counting 0 (the same per calendar month feeds the lower frequency tiers);
- percentiles interpolate linearly between order statistics, like `percentile_cont`;
- nothing to measure gives null, never 0.
"""

from __future__ import annotations

import statistics
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from flightdeck.metrics.domain.benchmarks import Benchmark
from flightdeck.metrics.domain.instants import (
    DAY_US,
    SECOND_US,
    day_of,
    month_start_day,
    next_month_day,
    week_start_day,
)


class Bucket(StrEnum):
    NONE = "none"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open interval `[start_us, end_us)`."""

    start_us: int
    end_us: int

    @property
    def days(self) -> float:
        """Its length in days."""
        return (self.end_us - self.start_us) / DAY_US

    def clip(self, other: Window) -> Window:
        """The part of `other` inside this window."""
        return Window(max(self.start_us, other.start_us), min(self.end_us, other.end_us))


@dataclass(frozen=True, slots=True)
class DayCount:
    """Succeeded deployments finished on one UTC day (inside the window)."""

    day: int
    deployments: int
    rework: int
    failed: int


@dataclass(frozen=True, slots=True)
class Recovery:
    """A detected failure and, when service came back, when."""

    detected_us: int
    recovered_us: int | None

    @property
    def duration_us(self) -> int | None:
        """How long service was down; a restoration stamped before the detection (clocks
        apart) counts as immediate (0), never negative. None while open."""
        return recovery_us(self.detected_us, self.recovered_us)


def recovery_us(detected_us: int | None, recovered_us: int | None) -> int | None:
    """Detection to recovery, at least 0; None when either is unknown."""
    if detected_us is None or recovered_us is None:
        return None
    return max(recovered_us - detected_us, 0)


@dataclass(frozen=True, slots=True)
class DoraInput:
    """What the figures are computed from, all within the window."""

    days: Sequence[DayCount]
    """In day order (a day may appear more than once)."""
    lead_times: Sequence[int]
    """Per counted commit, its first deployment's time (microseconds), in time order."""
    leads: Sequence[int]
    """Per counted commit, in the same order, its lead time in microseconds."""
    recoveries: Sequence[Recovery]
    """In detection order."""


@dataclass(frozen=True, slots=True)
class Frequency:
    count: int
    per_day: float
    deploy_days_per_week_median: float
    deploy_days_per_month_median: float
    tier: str


@dataclass(frozen=True, slots=True)
class Spread:
    """n and interpolated p50/p75/p90 in seconds, plus the tier (when there is one)."""

    n: int
    p50_seconds: float | None
    p75_seconds: float | None
    p90_seconds: float | None
    tier: str | None


@dataclass(frozen=True, slots=True)
class Ratio:
    numerator: int
    denominator: int
    value: float | None
    tier: str | None = None


@dataclass(frozen=True, slots=True)
class Figures:
    """The five DORA blocks of one window or bucket."""

    deployment_frequency: Frequency
    lead_time: Spread
    change_failure_rate: Ratio
    recovery_time: Spread
    recovery_open: int
    rework_rate: Ratio


@dataclass(frozen=True, slots=True)
class Report:
    """Figures of the window, and of each bucket when asked for."""

    window: Window
    totals: Figures
    series: list[tuple[int, Figures]]
    """(bucket start, figures) in time order, every bucket present."""


def percentile(ordered: Sequence[float] | Sequence[int], q: float) -> float:
    """Linear interpolation between order statistics of sorted values (`percentile_cont`)."""
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def spread(micros: Iterable[int], tier_of: Callable[[float], str | None] | None = None) -> Spread:
    """n, p50, p75 and p90 in seconds of durations given in microseconds, and the tier of the
    median by `tier_of`; nulls when empty."""
    ordered = sorted(micros)
    if not ordered:
        return Spread(0, None, None, None, None)
    p50, p75, p90 = (percentile(ordered, q) / SECOND_US for q in (0.5, 0.75, 0.9))
    return Spread(len(ordered), p50, p75, p90, tier_of(p50) if tier_of is not None else None)


def ratio(numerator: int, denominator: int) -> float | None:
    """numerator / denominator, null when there is nothing to divide."""
    return numerator / denominator if denominator else None


def deploy_day_medians(window: Window, deploy_days: set[int]) -> tuple[float, float]:
    """Median deploy days per calendar week and per calendar month overlapping `window`."""
    if window.end_us <= window.start_us:
        return 0.0, 0.0
    first, last = day_of(window.start_us), day_of(window.end_us - 1)
    weekly = [
        sum(1 for day in range(start, start + 7) if day in deploy_days)
        for start in range(week_start_day(first), last + 1, 7)
    ]
    monthly = []
    start = month_start_day(first)
    while start <= last:
        end = next_month_day(start)
        monthly.append(sum(1 for day in range(start, end) if day in deploy_days))
        start = end
    return float(statistics.median(weekly)), float(statistics.median(monthly))


def figures(window: Window, data: DoraInput, benchmark: Benchmark) -> Figures:
    """The five DORA blocks of `data` (already restricted to `window`)."""
    count = sum(day.deployments for day in data.days)
    rework = sum(day.rework for day in data.days)
    failed = sum(day.failed for day in data.days)
    deploy_days = {day.day for day in data.days if day.deployments}
    weekly, monthly = deploy_day_medians(window, deploy_days)
    per_day = count / window.days if window.days > 0 else 0.0
    frequency = Frequency(
        count, per_day, weekly, monthly, benchmark.frequency_tier(weekly, monthly, per_day)
    )
    failure_rate = ratio(failed, count)
    recovered = [r.duration_us for r in data.recoveries if r.duration_us is not None]
    return Figures(
        deployment_frequency=frequency,
        lead_time=spread(data.leads, benchmark.lead_time_tier),
        change_failure_rate=Ratio(
            failed, count, failure_rate, benchmark.failure_rate_tier(failure_rate)
        ),
        recovery_time=spread(recovered, benchmark.recovery_tier),
        recovery_open=sum(1 for r in data.recoveries if r.duration_us is None),
        rework_rate=Ratio(rework, count, ratio(rework, count)),
    )


def bucket_starts(window: Window, bucket: Bucket) -> list[int]:
    """Start days of the buckets overlapping `window`."""
    if bucket is Bucket.NONE or window.end_us <= window.start_us:
        return []
    first, last = day_of(window.start_us), day_of(window.end_us - 1)
    if bucket is Bucket.DAY:
        return list(range(first, last + 1))
    if bucket is Bucket.WEEK:
        return list(range(week_start_day(first), last + 1, 7))
    starts, start = [], month_start_day(first)
    while start <= last:
        starts.append(start)
        start = next_month_day(start)
    return starts


def bucket_end(start_day: int, bucket: Bucket) -> int:
    """The day after the last day of the bucket starting on `start_day`."""
    if bucket is Bucket.DAY:
        return start_day + 1
    if bucket is Bucket.WEEK:
        return start_day + 7
    return next_month_day(start_day)


def report(window: Window, data: DoraInput, benchmark: Benchmark, bucket: Bucket) -> Report:
    """The window's figures and, unless `bucket` is none, those of every bucket."""
    days, recoveries = data.days, data.recoveries
    day_keys = [d.day for d in days]
    recovery_keys = [r.detected_us for r in recoveries]
    series = []
    for start in bucket_starts(window, bucket):
        end = bucket_end(start, bucket)
        part = window.clip(Window(start * DAY_US, end * DAY_US))
        first, last = (bisect_left(data.lead_times, at) for at in (part.start_us, part.end_us))
        subset = DoraInput(
            days=days[bisect_left(day_keys, start) : bisect_left(day_keys, end)],
            lead_times=data.lead_times[first:last],
            leads=data.leads[first:last],
            recoveries=recoveries[
                bisect_left(recovery_keys, part.start_us) : bisect_left(recovery_keys, part.end_us)
            ],
        )
        series.append((start, figures(part, subset, benchmark)))
    return Report(window, figures(window, data, benchmark), series)


@dataclass(frozen=True, slots=True)
class Filters:
    """Which deployments, commits and failures a question is about."""

    services: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    environment_tier: str = "production"
    lead_time_start: str = "authored"
    """`authored` or `merged`: where a commit's lead time starts."""
