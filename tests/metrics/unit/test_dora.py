"""The DORA arithmetic: percentiles, deploy-day medians, buckets and tiers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import get_args

import pytest

from flightdeck.metrics.api.params import BenchmarkYear
from flightdeck.metrics.domain.benchmarks import BENCHMARKS, DEFAULT_BENCHMARK
from flightdeck.metrics.domain.dora import (
    Bucket,
    DayCount,
    DoraInput,
    Recovery,
    Window,
    bucket_starts,
    deploy_day_medians,
    percentile,
    report,
    spread,
)
from flightdeck.metrics.domain.instants import (
    DAY_US,
    HOUR_US,
    day_of,
    from_us,
    month_start_day,
    to_us,
    week_start_day,
)

MONDAY = to_us(datetime(2026, 1, 5, tzinfo=UTC))


def test_percentiles_interpolate_like_percentile_cont() -> None:
    values = [1.0, 2.0, 3.0, 4.0]
    # position (n - 1) q: 1.5 -> 2.5; 2.25 -> 3.25; 2.7 -> 3.7
    assert percentile(values, 0.5) == 2.5
    assert percentile(values, 0.75) == 3.25
    assert percentile(values, 0.9) == pytest.approx(3.7)
    assert percentile([7.0], 0.9) == 7.0


def test_no_data_gives_nulls_not_zeros() -> None:
    empty = spread([], BENCHMARKS["2023"].lead_time_tier)
    assert (empty.n, empty.p50_seconds, empty.p90_seconds, empty.tier) == (0, None, None, None)


def test_weeks_start_on_monday_and_months_on_the_first() -> None:
    sunday = day_of(MONDAY) + 6
    assert from_us(week_start_day(sunday) * DAY_US) == datetime(2026, 1, 5, tzinfo=UTC)
    assert from_us(week_start_day(sunday + 1) * DAY_US) == datetime(2026, 1, 12, tzinfo=UTC)
    assert from_us(month_start_day(day_of(MONDAY)) * DAY_US) == datetime(2026, 1, 1, tzinfo=UTC)


def test_deploy_day_median_counts_empty_weeks_as_zero() -> None:
    window = Window(MONDAY, MONDAY + 21 * DAY_US)  # three whole weeks
    first = day_of(MONDAY)
    # week 1: 3 days, week 2: none, week 3: 1 day -> 0 1 3 -> median 1
    weekly, monthly = deploy_day_medians(window, {first, first + 1, first + 2, first + 15})
    assert weekly == 1.0
    assert monthly == 4.0  # all in January


def test_partial_weeks_at_the_window_edges_count_as_calendar_weeks() -> None:
    window = Window(MONDAY + 3 * DAY_US, MONDAY + 10 * DAY_US)  # Thursday to next Thursday
    assert bucket_starts(window, Bucket.WEEK) == [day_of(MONDAY), day_of(MONDAY) + 7]
    weekly, _ = deploy_day_medians(window, {day_of(MONDAY) + 4})
    assert weekly == 0.5  # weeks 1 and 0 -> median 0.5


def test_buckets_are_zero_filled_and_figures_follow_event_times() -> None:
    window = Window(MONDAY, MONDAY + 14 * DAY_US)
    data = DoraInput(
        days=[DayCount(day_of(MONDAY), deployments=2, rework=1, failed=1)],
        lead_times=[MONDAY + HOUR_US],
        leads=[3600 * 10**6],
        recoveries=[Recovery(MONDAY + 8 * DAY_US, MONDAY + 8 * DAY_US + 1800 * 10**6)],
    )
    result = report(window, data, BENCHMARKS["2023"], Bucket.WEEK)
    first, second = (figures for _, figures in result.series)
    assert first.deployment_frequency.count == 2
    assert first.change_failure_rate.value == 0.5
    assert first.lead_time.p50_seconds == 3600.0
    assert first.recovery_time.n == 0  # the failure was detected in week 2
    assert second.deployment_frequency.count == 0
    assert second.change_failure_rate.value is None
    assert second.recovery_time.p50_seconds == 1800.0
    assert result.totals.deployment_frequency.per_day == 2 / 14
    assert result.totals.rework_rate.value == 0.5


@pytest.mark.parametrize(
    ("year", "weekly", "monthly", "per_day", "tier"),
    [
        ("2023", 5.0, 20.0, 1.0, "elite"),
        ("2023", 1.0, 4.0, 0.2, "high"),
        ("2023", 0.0, 1.0, 0.05, "medium"),
        ("2023", 0.0, 0.0, 0.01, "low"),
        ("2021", 1.0, 4.0, 0.2, "high"),
        ("2021", 0.0, 0.0, 0.01, "medium"),  # about once in six months
        ("2021", 0.0, 0.0, 0.001, "low"),
    ],
)
def test_frequency_tiers(
    year: str, weekly: float, monthly: float, per_day: float, tier: str
) -> None:
    assert BENCHMARKS[year].frequency_tier(weekly, monthly, per_day) == tier


def test_tier_cut_offs_of_2023() -> None:
    benchmark = BENCHMARKS["2023"]
    assert benchmark.lead_time_tier(86399.0) == "elite"
    assert benchmark.lead_time_tier(86400.0) == "high"  # one day is no longer "less than a day"
    assert benchmark.lead_time_tier(40 * 86400.0) == "low"
    assert benchmark.failure_rate_tier(0.05) == "elite"
    assert benchmark.failure_rate_tier(0.15) == "medium"
    assert benchmark.failure_rate_tier(0.16) == "low"
    assert benchmark.recovery_tier(3599.0) == "elite"
    assert benchmark.recovery_tier(3600.0) == "high"
    assert benchmark.recovery_tier(None) is None


def test_the_api_accepts_exactly_the_benchmark_years_held() -> None:
    assert set(get_args(BenchmarkYear)) == set(BENCHMARKS)
    assert DEFAULT_BENCHMARK in BENCHMARKS
