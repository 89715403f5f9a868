"""Analyst questions: DORA figures, their drill-down rows, the value stream, the event log and
its status."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from flightdeck.metrics.db import queries
from flightdeck.metrics.db import value_stream as milestones
from flightdeck.metrics.domain import dora
from flightdeck.metrics.domain.benchmarks import BENCHMARKS
from flightdeck.metrics.domain.value_stream import StageSummary, Timeline, summarise


async def dora_report(
    reader: AsyncEngine,
    window: dora.Window,
    filters: dora.Filters,
    bucket: dora.Bucket,
    benchmark: str,
) -> dora.Report:
    """The DORA figures of the window (and its buckets) for the filtered deployments."""
    data = await queries.dora_input(reader, window, filters)
    return dora.report(window, data, BENCHMARKS[benchmark], bucket)


async def deployments(
    reader: AsyncEngine,
    window: dora.Window,
    filters: dora.Filters,
    after: tuple[int, str] | None,
    limit: int,
) -> list[queries.DeploymentRow]:
    """One page of the deployments counted by `dora_report`."""
    async with reader.connect() as conn:
        return await queries.deployment_page(conn, window, filters, after, limit)


async def failures(
    reader: AsyncEngine,
    window: dora.Window,
    filters: dora.Filters,
    after: tuple[int, str] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """One page of the failures behind `dora_report`."""
    async with reader.connect() as conn:
        return await queries.failure_page(conn, window, filters, after, limit)


async def release_stream(reader: AsyncEngine, release_id: str) -> Timeline | None:
    """The milestones and stage durations of one release (None when nothing is known)."""
    async with reader.connect() as conn:
        found = await milestones.timelines(conn, [release_id])
    return found[0] if found else None


async def stream_summary(
    reader: AsyncEngine, window: dora.Window, teams: Sequence[str]
) -> tuple[int, list[StageSummary], str | None]:
    """Over the releases planned in the window: how many, each stage's median, the bottleneck."""
    async with reader.connect() as conn:
        ids = await milestones.releases_between(conn, window.start_us, window.end_us, teams)
        found = await milestones.timelines(conn, ids)
    stages, bottleneck = summarise(found)
    return len(found), stages, bottleneck


async def events(
    reader: AsyncEngine, query: queries.EventQuery, after: tuple[int, int] | None, limit: int
) -> list[dict[str, Any]]:
    """One page of the event log matching `query`, after the log key `after`."""
    async with reader.connect() as conn:
        return await queries.event_page(conn, query, after, limit)


@dataclass(frozen=True, slots=True)
class LogStatus:
    events: int
    last_event_time: datetime | None
    projections: dict[str, int]
    """Row counts of the main projections."""


async def log_status(reader: AsyncEngine) -> LogStatus:
    """How many events the log holds, the latest event time and the projections' sizes."""
    async with reader.connect() as conn:
        events, last = await queries.log_status(conn)
        counts = await queries.projection_counts(conn)
    return LogStatus(events, last, counts)
