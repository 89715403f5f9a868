"""Response bodies of the metrics API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from flightdeck.metrics.db.queries import DeploymentRow
from flightdeck.metrics.domain import dora
from flightdeck.metrics.domain.instants import DAY_US, SECOND_US, from_us
from flightdeck.metrics.domain.value_stream import MILESTONES, StageSummary, Timeline


def _time(micros: int | None) -> datetime | None:
    return from_us(micros) if micros is not None else None


def _seconds(micros: int | None) -> float | None:
    return micros / SECOND_US if micros is not None else None


class DeploymentFrequency(BaseModel):
    count: int
    per_day: float
    deploy_days_per_week_median: float
    deploy_days_per_month_median: float
    tier: str


class Spread(BaseModel):
    n: int
    p50_seconds: float | None
    p75_seconds: float | None
    p90_seconds: float | None
    tier: str | None


class RecoveryTime(Spread):
    open: int


class Ratio(BaseModel):
    numerator: int
    denominator: int
    value: float | None


class FailureRate(Ratio):
    tier: str | None


class Figures(BaseModel):
    deployment_frequency: DeploymentFrequency
    lead_time: Spread
    change_failure_rate: FailureRate
    recovery_time: RecoveryTime
    rework_rate: Ratio

    @classmethod
    def of(cls, figures: dora.Figures) -> dict[str, Any]:
        """The five blocks as a dict (shared by the totals and each bucket)."""
        recovery = figures.recovery_time
        return {
            "deployment_frequency": DeploymentFrequency(**_fields(figures.deployment_frequency)),
            "lead_time": Spread(**_fields(figures.lead_time)),
            "change_failure_rate": FailureRate(**_fields(figures.change_failure_rate)),
            "recovery_time": RecoveryTime(**_fields(recovery), open=figures.recovery_open),
            "rework_rate": Ratio(
                numerator=figures.rework_rate.numerator,
                denominator=figures.rework_rate.denominator,
                value=figures.rework_rate.value,
            ),
        }


def _fields(value: Any) -> dict[str, Any]:
    return {name: getattr(value, name) for name in value.__slots__}


class SeriesBucket(Figures):
    bucket_start: datetime


class DoraFilters(BaseModel):
    service: list[str]
    team: list[str]
    environment_tier: str
    lead_time_start: str
    bucket: str


class DoraView(Figures):
    window: dict[str, datetime]
    filters: DoraFilters
    benchmark: str
    series: list[SeriesBucket]

    @classmethod
    def of_report(
        cls, report: dora.Report, filters: dora.Filters, bucket: dora.Bucket, benchmark: str
    ) -> DoraView:
        """The `/dora` document."""
        return cls(
            window={"from": from_us(report.window.start_us), "to": from_us(report.window.end_us)},
            filters=DoraFilters(
                service=list(filters.services),
                team=list(filters.teams),
                environment_tier=filters.environment_tier,
                lead_time_start=filters.lead_time_start,
                bucket=bucket.value,
            ),
            benchmark=benchmark,
            series=[
                SeriesBucket(bucket_start=from_us(start * DAY_US), **Figures.of(figures))
                for start, figures in report.series
            ],
            **Figures.of(report.totals),
        )


class CommitView(BaseModel):
    repo: str
    sha: str
    authored_at: datetime
    merged_at: datetime | None
    counted: bool
    """Whether the commit enters `lead_time.n` here: this deployment is its first in the tier
    and its lead time (from the chosen start) is known and positive."""
    lead_time_seconds: float | None
    """At the commit's first deployment in the tier (shown even when not positive); null
    elsewhere, or without a merge time when lead time starts at the merge."""

    @classmethod
    def of(cls, row: dict[str, Any], *, first: bool) -> CommitView:
        """One commit of a deployment; `first`: the deployment is the commit's first."""
        lead = row["lead_us"] if first else None
        return cls(
            repo=row["repo"],
            sha=row["sha"],
            authored_at=from_us(row["authored_us"]),
            merged_at=_time(row["merged_us"]),
            counted=lead is not None and lead > 0,
            lead_time_seconds=_seconds(lead),
        )


class AttributionView(BaseModel):
    failure_id: str
    kind: str
    rule: str


class DeploymentView(BaseModel):
    deployment_id: str
    service: str
    environment: str
    environment_tier: str
    team: str | None
    version: str
    source: str
    release_id: str | None
    change_id: str | None
    is_rollback: bool
    is_unplanned: bool
    rollback_of: str | None
    started_at: datetime
    finished_at: datetime
    failed: bool
    failure_rule: str | None
    failures: list[AttributionView]
    commits: list[CommitView]

    @classmethod
    def of(cls, row: DeploymentRow) -> DeploymentView:
        """One drill-down row."""
        d = row.deployment
        return cls(
            **{k: d[k] for k in ("deployment_id", "service", "environment", "environment_tier")},
            team=d["team"] or None,
            **{k: d[k] for k in ("version", "source", "release_id", "change_id")},
            **{k: d[k] for k in ("is_rollback", "is_unplanned", "rollback_of", "failure_rule")},
            started_at=from_us(d["started_us"]),
            finished_at=from_us(d["finished_us"]),
            failed=d["failure_rule"] is not None,
            failures=[AttributionView(**a) for a in row.failures],
            commits=[
                CommitView.of(c, first=c["counted_in"] == d["deployment_id"]) for c in row.commits
            ],
        )


class FailureView(BaseModel):
    failure_id: str
    kind: str
    """`health_check` (a HealthCheckFailed, by its ce_id) or `rollback`."""
    service: str
    environment: str
    deployment_id: str | None
    rule: str | None
    check: str | None
    severity: str | None
    occurred_at: datetime
    detected_at: datetime | None
    recovered_at: datetime | None
    recovered_by: str | None
    recovery_seconds: float | None
    open: bool

    @classmethod
    def of(cls, row: dict[str, Any]) -> FailureView:
        """One drill-down row."""
        detected, recovered = row["detected_us"], row["recovered_us"]
        return cls(
            **{
                k: row[k] for k in ("failure_id", "kind", "service", "environment", "deployment_id")
            },
            rule=row["rule"],
            check=row["check_name"],
            severity=row["severity"],
            occurred_at=from_us(row["occurred_us"]),
            detected_at=_time(detected),
            recovered_at=_time(recovered),
            recovered_by=row["recovered_by"],
            recovery_seconds=_seconds(dora.recovery_us(detected, recovered)),
            open=detected is not None and recovered is None,
        )


class EventView(BaseModel):
    seq: int
    id: str
    type: str
    source: str
    subject: str
    time: datetime
    correlation_id: str | None
    data: dict[str, Any]
    recorded_at: datetime

    @classmethod
    def of(cls, row: dict[str, Any]) -> EventView:
        """One logged event."""
        return cls(id=row["event_id"], **{k: v for k, v in row.items() if k != "event_id"})


class StageView(BaseModel):
    stage: str
    seconds: float | None


class ReleaseStreamView(BaseModel):
    release_id: str
    team: str | None
    milestones: dict[str, datetime | None]
    stages: list[StageView]

    @classmethod
    def of(cls, timeline: Timeline) -> ReleaseStreamView:
        """One release's value stream."""
        return cls(
            release_id=timeline.release_id,
            team=timeline.team,
            milestones={name: _time(timeline.reached.get(name)) for name in MILESTONES},
            stages=[StageView(stage=s, seconds=v) for s, v in timeline.durations().items()],
        )


class StageMedianView(BaseModel):
    stage: str
    n: int
    median_seconds: float | None


class StreamSummaryView(BaseModel):
    window: dict[str, datetime]
    team: list[str]
    releases: int
    stages: list[StageMedianView]
    bottleneck: str | None

    @staticmethod
    def stages_of(stages: list[StageSummary]) -> list[StageMedianView]:
        return [
            StageMedianView(stage=s.stage, n=s.n, median_seconds=s.median_seconds) for s in stages
        ]


class StatusView(BaseModel):
    events: int
    last_event_time: datetime | None
    projections: dict[str, int]
    consumer_running: bool
    consumer_lag: dict[str, int]
    """Per `topic:partition`: high-water mark of fetched records minus the committed offset."""


class RebuildView(BaseModel):
    events: int
    seconds: float
    projections: dict[str, int]
