"""CSV exports of the drill-down rows, streamed page by page."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from flightdeck.metrics.api.schemas import DeploymentView, FailureView
from flightdeck.metrics.domain.dora import Filters, Window
from flightdeck.metrics.service import reports

PAGE = 1000

DEPLOYMENT_COLUMNS = (
    "deployment_id",
    "service",
    "environment",
    "environment_tier",
    "team",
    "version",
    "source",
    "release_id",
    "is_rollback",
    "is_unplanned",
    "started_at",
    "finished_at",
    "failure_rule",
    "repo",
    "sha",
    "authored_at",
    "merged_at",
    "counted",
    "lead_time_seconds",
)
FAILURE_COLUMNS = tuple(FailureView.model_fields)


def attachment(name: str) -> dict[str, str]:
    """The Content-Disposition of a download."""
    return {"Content-Disposition": f'attachment; filename="{name}.csv"'}


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""How a spreadsheet recognises a formula: text starting so (names come from CI tools and
webhooks) is prefixed with `'` and stays text (numbers are written as numbers)."""


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _csv(rows: Iterable[Iterable[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return buffer.getvalue().encode()


def _deployment_rows(view: DeploymentView) -> list[list[Any]]:
    head = view.model_dump(mode="json")
    base = [head[name] for name in DEPLOYMENT_COLUMNS[:13]]
    commits = head["commits"] or [{}]
    return [base + [c.get(name) for name in DEPLOYMENT_COLUMNS[13:]] for c in commits]


async def deployment_lines(
    reader: AsyncEngine, window: Window, filters: Filters
) -> AsyncIterator[bytes]:
    """Header, then one line per deployment and commit (deployments without commits: one)."""
    yield _csv([DEPLOYMENT_COLUMNS])
    after: tuple[int, str] | None = None
    while True:
        rows = await reports.deployments(reader, window, filters, after, PAGE)
        if not rows:
            return
        yield _csv(line for row in rows for line in _deployment_rows(DeploymentView.of(row)))
        after = rows[-1].key


async def failure_lines(
    reader: AsyncEngine, window: Window, filters: Filters
) -> AsyncIterator[bytes]:
    """Header, then one line per failure."""
    yield _csv([FAILURE_COLUMNS])
    after: tuple[int, str] | None = None
    while True:
        rows = await reports.failures(reader, window, filters, after, PAGE)
        if not rows:
            return
        views = [FailureView.of(row).model_dump(mode="json") for row in rows]
        yield _csv([view[name] for name in FAILURE_COLUMNS] for view in views)
        after = (rows[-1]["occurred_us"], rows[-1]["failure_id"])
