"""HTTP routes of the metrics service (thin: parse, ask one use case, shape the answer)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from flightdeck.kit.deps import Admin, Ctx, Viewer
from flightdeck.kit.pagination import Page
from flightdeck.kit.problems import not_found
from flightdeck.metrics.api import export
from flightdeck.metrics.api.params import (
    BenchmarkYear,
    Bounded,
    Chosen,
    Filtered,
    Paged,
    check_bucket,
)
from flightdeck.metrics.api.schemas import (
    DeploymentView,
    DoraView,
    EventView,
    FailureView,
    RebuildView,
    ReleaseStreamView,
    StatusView,
    StreamSummaryView,
)
from flightdeck.metrics.db.queries import EventQuery
from flightdeck.metrics.domain.benchmarks import DEFAULT_BENCHMARK
from flightdeck.metrics.domain.dora import Bucket
from flightdeck.metrics.service import reports
from flightdeck.metrics.service.rebuild import rebuild, settle

router = APIRouter(tags=["metrics"])


@router.get("/dora")
async def dora_figures(
    context: Ctx,
    _caller: Viewer,
    chosen: Chosen,
    filters: Filtered,
    bucket: Bucket = Bucket.NONE,
    benchmark: BenchmarkYear = DEFAULT_BENCHMARK,
) -> DoraView:
    """Deployment frequency, lead time, change failure rate, recovery time and rework rate."""
    check_bucket(bucket, chosen)
    report = await reports.dora_report(context.reader, chosen.window, filters, bucket, benchmark)
    return DoraView.of_report(report, filters, bucket, benchmark)


@router.get("/dora/deployments")
async def counted_deployments(
    context: Ctx, _caller: Viewer, chosen: Chosen, filters: Filtered, paging: Paged
) -> Page[DeploymentView]:
    """The deployments behind `/dora`, with commits, lead times and failure attribution."""
    after = paging.time_key()
    rows = await reports.deployments(context.reader, chosen.window, filters, after, paging.fetch)
    return paging.page(rows, DeploymentView.of, lambda row: row.key)


@router.get("/dora/failures")
async def attributed_failures(
    context: Ctx, _caller: Viewer, chosen: Chosen, filters: Filtered, paging: Paged
) -> Page[FailureView]:
    """The failures behind `/dora`, with their deployment, rule and recovery time."""
    after = paging.time_key()
    rows = await reports.failures(context.reader, chosen.window, filters, after, paging.fetch)
    return paging.page(rows, FailureView.of, lambda row: (row["occurred_us"], row["failure_id"]))


@router.get("/export/deployments.csv")
async def export_deployments(
    context: Ctx, _caller: Viewer, chosen: Chosen, filters: Filtered
) -> StreamingResponse:
    """The `/dora/deployments` rows as CSV, one line per deployment and commit."""
    lines = export.deployment_lines(context.reader, chosen.window, filters)
    return StreamingResponse(lines, media_type="text/csv", headers=export.attachment("deployments"))


@router.get("/export/failures.csv")
async def export_failures(
    context: Ctx, _caller: Viewer, chosen: Chosen, filters: Filtered
) -> StreamingResponse:
    """The `/dora/failures` rows as CSV."""
    lines = export.failure_lines(context.reader, chosen.window, filters)
    return StreamingResponse(lines, media_type="text/csv", headers=export.attachment("failures"))


@router.get("/value-stream", response_model=None)
async def value_stream(
    context: Ctx,
    _caller: Viewer,
    chosen: Chosen,
    release_id: str | None = None,
    team: Annotated[list[str] | None, Query()] = None,
) -> ReleaseStreamView | StreamSummaryView:
    """One release's stage durations, or the median of each stage and the bottleneck over
    the releases planned in the window."""
    if release_id is not None:
        timeline = await reports.release_stream(context.reader, release_id)
        if timeline is None:
            raise not_found("release", release_id)
        return ReleaseStreamView.of(timeline)
    teams = team or []
    count, stages, bottleneck = await reports.stream_summary(context.reader, chosen.window, teams)
    return StreamSummaryView(
        window={"from": chosen.start, "to": chosen.end},
        team=teams,
        releases=count,
        stages=StreamSummaryView.stages_of(stages),
        bottleneck=bottleneck,
    )


@router.get("/events")
async def logged_events(
    context: Ctx,
    _caller: Viewer,
    paging: Paged,
    bounds: Bounded,
    types: Annotated[list[str] | None, Query(alias="type", description="CloudEvents types")] = None,
    subject: str | None = None,
    correlation_id: str | None = None,
) -> Page[EventView]:
    """The event log, oldest first."""
    query = EventQuery(tuple(types or ()), subject, correlation_id, bounds.start, bounds.end)
    rows = await reports.events(context.reader, query, paging.log_key(), paging.fetch)
    return paging.page(rows, EventView.of, lambda row: (row["txid"], row["seq"]))


@router.get("/projections/status")
async def projection_status(context: Ctx, _caller: Viewer) -> StatusView:
    """Events in the log, the latest event time, projection sizes and consumer lag."""
    logged = await reports.log_status(context.reader)
    runner = context.runner
    return StatusView(
        events=logged.events,
        last_event_time=logged.last_event_time,
        projections=logged.projections,
        consumer_running=runner is not None and not runner.stopping,
        consumer_lag=runner.lag() if runner is not None else {},
    )


@router.post("/projections/rebuild")
async def rebuild_projections(context: Ctx, _caller: Admin) -> RebuildView:
    """Recompute every projection from the log and swap them in at once."""
    async with context.transaction() as conn:
        rebuilt = await rebuild(conn)
    await settle(context.engine)
    return RebuildView(
        events=rebuilt.events, seconds=rebuilt.seconds, projections=rebuilt.projections
    )
