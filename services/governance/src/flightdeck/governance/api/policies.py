"""Routes of the change policy and the pre-approved templates."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from flightdeck.governance.api.deps import IfMatch, PolicyEditor, Uow
from flightdeck.governance.api.schemas import NewTemplate, PolicyUpdate, PolicyView, TemplateView
from flightdeck.governance.service import policies as policy_cases
from flightdeck.governance.service import queries
from flightdeck.governance.service.changes import current_policy
from flightdeck.kit.deps import Admin, Ctx, Viewer
from flightdeck.kit.pagination import Page, check_limit, decode_cursor, encode_cursor
from flightdeck.kit.versioning import etag

router = APIRouter(tags=["policies"])


@router.get("/policies")
async def get_policy(context: Ctx, _caller: Viewer, response: Response) -> PolicyView:
    """The policy in force (its version is the ETag to send back with `PUT`)."""
    async with context.reader.connect() as conn:
        version = await current_policy(conn)
    response.headers["ETag"] = etag(version.version)
    return PolicyView.model_validate(version)


@router.get("/policies/{version}")
async def get_policy_version(
    version: Annotated[int, Path(ge=1, le=2**31 - 1)], context: Ctx, _caller: Viewer
) -> PolicyView:
    """An earlier (or the current) version of the policy."""
    async with context.reader.connect() as conn:
        found = await queries.policy_version(conn, version)
    return PolicyView.model_validate(found)


@router.put("/policies")
async def replace_policy(
    body: PolicyUpdate,
    context: Ctx,
    caller: Admin,
    uow: Uow,
    response: Response,
    if_match: IfMatch = None,
) -> PolicyView:
    """Store a new version of the policy; changes keep the version they were judged by."""
    version = await policy_cases.replace_policy(
        uow,
        body.policy(),
        note=body.note,
        actor=caller.subject,
        if_match=if_match,
        now=context.clock(),
    )
    response.headers["ETag"] = etag(version.version)
    return PolicyView.model_validate(version)


@router.post("/templates", status_code=201)
async def add_template(
    body: NewTemplate, context: Ctx, caller: PolicyEditor, uow: Uow
) -> TemplateView:
    """Register a pre-approved template for standard changes."""
    template = await policy_cases.add_template(
        uow,
        body.template(),
        description=body.description,
        actor=caller.subject,
        now=context.clock(),
    )
    return TemplateView.of(template, body.description)


@router.get("/templates")
async def list_templates(
    context: Ctx,
    _caller: Viewer,
    limit: Annotated[int, Query()] = 100,
    cursor: str | None = None,
) -> Page[TemplateView]:
    """Templates by name."""
    limit = check_limit(limit)
    after = decode_cursor(cursor, str)
    async with context.reader.connect() as conn:
        found = await queries.templates(conn, after[0] if after else None, limit)
    following = encode_cursor(found[-1][0].name) if len(found) == limit else None
    return Page(items=[TemplateView.of(t, d) for t, d in found], next_cursor=following)
