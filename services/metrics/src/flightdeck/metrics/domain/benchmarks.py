"""DORA performance tiers, as versioned benchmark data: a new report year is a new entry.

Cut-offs follow the Accelerate State of DevOps reports (2021 and 2023). Lead time and
recovery time are judged by their median (p50); deployment frequency by the median number of
deploy days per calendar week (and per calendar month for the lower tiers).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

HOUR = 3600.0
DAY = 24 * HOUR
WEEK = 7 * DAY
MONTH = 30 * DAY
HALF_YEAR = 182 * DAY


@dataclass(frozen=True, slots=True)
class Cut:
    """`tier` applies when the figure is within `limit` (`inclusive`: `<=`, else `<`)."""

    tier: str
    limit: float
    inclusive: bool = True

    def admits(self, value: float) -> bool:
        """Whether `value` is within this cut."""
        return value <= self.limit if self.inclusive else value < self.limit


@dataclass(frozen=True, slots=True)
class Benchmark:
    """One report year's cut-offs. Lower-is-better cuts are tried in order; the first that
    admits the value names the tier, else the tier is `low`."""

    year: str
    weekly_deploy_days: tuple[tuple[str, float], ...]
    """Higher is better: (tier, minimum median deploy days per week)."""
    monthly_deploy_days: tuple[tuple[str, float], ...]
    """Higher is better: (tier, minimum median deploy days per month), tried after weekly."""
    half_yearly_deployments: tuple[tuple[str, float], ...]
    """Higher is better: (tier, minimum deployments per 182 days), tried last."""
    lead_time: tuple[Cut, ...]
    change_failure_rate: tuple[Cut, ...]
    recovery_time: tuple[Cut, ...]

    def frequency_tier(self, weekly_median: float, monthly_median: float, per_day: float) -> str:
        """The tier of a deployment frequency."""
        figures = (
            (self.weekly_deploy_days, weekly_median),
            (self.monthly_deploy_days, monthly_median),
            (self.half_yearly_deployments, per_day * 182),
        )
        for cuts, value in figures:
            for tier, minimum in cuts:
                if value >= minimum:
                    return tier
        return "low"

    def lead_time_tier(self, p50_seconds: float | None) -> str | None:
        """The tier of a median lead time (null without data)."""
        return _lower_is_better(self.lead_time, p50_seconds)

    def failure_rate_tier(self, rate: float | None) -> str | None:
        """The tier of a change failure rate (null without data)."""
        return _lower_is_better(self.change_failure_rate, rate)

    def recovery_tier(self, p50_seconds: float | None) -> str | None:
        """The tier of a median recovery time (null without data)."""
        return _lower_is_better(self.recovery_time, p50_seconds)


def _lower_is_better(cuts: tuple[Cut, ...], value: float | None) -> str | None:
    if value is None:
        return None
    return next((cut.tier for cut in cuts if cut.admits(value)), "low")


BENCHMARKS: dict[str, Benchmark] = {
    "2023": Benchmark(
        year="2023",
        # Elite: on demand (deploys most days); high: daily to weekly; medium: weekly to monthly.
        weekly_deploy_days=(("elite", 5), ("high", 1)),
        monthly_deploy_days=(("medium", 1),),
        half_yearly_deployments=(),
        # Elite < 1 day; high 1 day to 1 week; medium 1 week to 1 month; low beyond.
        lead_time=(Cut("elite", DAY, False), Cut("high", WEEK), Cut("medium", MONTH)),
        # Elite 5 %, high 10 %, medium 15 %, low 64 %.
        change_failure_rate=(Cut("elite", 0.05), Cut("high", 0.10), Cut("medium", 0.15)),
        # Elite < 1 hour; high < 1 day; medium 1 day to 1 week; low beyond.
        recovery_time=(Cut("elite", HOUR, False), Cut("high", DAY, False), Cut("medium", WEEK)),
    ),
    "2021": Benchmark(
        year="2021",
        # Elite: on demand; high: weekly to monthly; medium: monthly to once per six months.
        weekly_deploy_days=(("elite", 5),),
        monthly_deploy_days=(("high", 1),),
        half_yearly_deployments=(("medium", 1),),
        # Elite < 1 hour; high 1 day to 1 week; medium 1 to 6 months; low beyond.
        lead_time=(Cut("elite", HOUR, False), Cut("high", WEEK), Cut("medium", HALF_YEAR)),
        # Elite 0-15 %; high, medium and low were all 16-30 %: above 15 % reads as high.
        change_failure_rate=(Cut("elite", 0.15), Cut("high", 0.30)),
        # Elite < 1 hour; high < 1 day; medium 1 day to 1 week; low beyond.
        recovery_time=(Cut("elite", HOUR, False), Cut("high", DAY, False), Cut("medium", WEEK)),
    ),
}
"""Benchmark data by report year."""

DEFAULT_BENCHMARK: Final = "2023"
