"""Routes of releases: plan, list, read, cancel, and their documents."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import PlainTextResponse

from flightdeck.kit.deps import Ctx, Releaser, Viewer
from flightdeck.kit.pagination import Page, check_limit, decode_cursor, encode_cursor
from flightdeck.kit.times import Moment
from flightdeck.planning.api.deps import IfMatch
from flightdeck.planning.api.errors import PlanningRoute
from flightdeck.planning.api.requests import CancelBody, KnownIssueBody, PlanRelease
from flightdeck.planning.api.views import (
    ReleaseSummary,
    ReleaseView,
    json_response,
    release_response,
)
from flightdeck.planning.domain import documents
from flightdeck.planning.domain.model import KnownIssue, ReleaseState
from flightdeck.planning.service import queries, releases

router = APIRouter(prefix="/releases", tags=["releases"], route_class=PlanningRoute)

MARKDOWN = "text/markdown; charset=utf-8"


@router.post("", status_code=201, response_model=ReleaseView)
async def plan_release(body: PlanRelease, context: Ctx, caller: Releaser) -> Response:
    """Plan a release (draft); publishes ReleasePlanned."""
    release = await releases.plan(context.uow(), body.draft(), caller.subject, context.clock())
    return release_response(release, 201)


@router.get("", response_model=Page[ReleaseSummary])
async def list_releases(
    context: Ctx,
    _caller: Viewer,
    state: ReleaseState | None = None,
    team: str | None = None,
    service: str | None = None,
    starts_from: Annotated[Moment | None, Query(alias="from")] = None,
    starts_before: Annotated[Moment | None, Query(alias="to")] = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Response:
    """Releases by planned start; `from`/`to` bound the planned start (to exclusive).

    A hot path: the rows are serialised straight to JSON (no model per release)."""
    check_limit(limit)
    after = decode_cursor(cursor, datetime, str)
    where = queries.ReleaseFilter(state, team, service, starts_from, starts_before)
    found = await queries.releases(
        context.reader, where, limit + 1, (after[0], after[1]) if after else None
    )
    page = found[:limit]
    following = (
        encode_cursor(page[-1]["planned_start"].isoformat(), page[-1]["id"])
        if len(found) > limit
        else None
    )
    return json_response({"items": page, "next_cursor": following})


@router.get("/{release_id}", response_model=ReleaseView)
async def read_release(release_id: str, context: Ctx, _caller: Viewer) -> Response:
    """A release with its items, criteria, toggles, sign-offs, issues and flags."""
    release = await queries.release(context.reader, release_id)
    return release_response(release)


@router.post("/{release_id}/cancel", response_model=ReleaseView)
async def cancel_release(
    release_id: str,
    context: Ctx,
    caller: Releaser,
    if_match: IfMatch = None,
    body: CancelBody | None = None,
) -> Response:
    """Cancel a release that is not released yet; publishes ReleaseCancelled."""
    reason = body.reason if body else ""
    release = await releases.cancel(
        context.uow(), release_id, reason, if_match, caller.subject, context.clock()
    )
    return release_response(release)


@router.post("/{release_id}/known-issues", status_code=201, response_model=ReleaseView)
async def report_known_issue(
    release_id: str,
    body: KnownIssueBody,
    context: Ctx,
    caller: Releaser,
    if_match: IfMatch = None,
) -> Response:
    """Record a known issue for the release notes."""
    issue = KnownIssue(
        releases.new_id(), body.title, body.workaround, body.impact, caller.subject, context.clock()
    )
    release = await releases.report_known_issue(context.uow(), release_id, issue, if_match)
    return release_response(release, 201)


@router.get(
    "/{release_id}/notes",
    response_model=None,
    responses={200: {"content": {"text/markdown": {}, "application/json": {}}}},
)
async def release_notes(
    release_id: str, request: Request, context: Ctx, _caller: Viewer
) -> PlainTextResponse | dict[str, object]:
    """Release notes: Markdown, or JSON with `Accept: application/json`."""
    release = await queries.release(context.reader, release_id)
    if _wants_json(request, default=False):
        return documents.notes(release)
    return PlainTextResponse(documents.notes_markdown(release), media_type=MARKDOWN)


@router.get(
    "/{release_id}/runbook",
    response_model=None,
    responses={200: {"content": {"application/json": {}, "text/markdown": {}}}},
)
async def runbook(
    release_id: str, request: Request, context: Ctx, _caller: Viewer
) -> PlainTextResponse | dict[str, object]:
    """The runbook: JSON, or Markdown with `Accept: text/markdown`."""
    release = await queries.release(context.reader, release_id)
    if _wants_json(request, default=True):
        return documents.runbook(release)
    return PlainTextResponse(documents.runbook_markdown(release), media_type=MARKDOWN)


def _wants_json(request: Request, *, default: bool) -> bool:
    accept = request.headers.get("accept", "").lower()
    if "application/json" in accept:
        return True
    if "text/markdown" in accept:
        return False
    return default
