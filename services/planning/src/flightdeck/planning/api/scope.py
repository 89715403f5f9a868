"""Routes that shape a release's scope: items, rollback criteria, toggles, sign-offs,
freezing the scope and the descoping proposal."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from flightdeck.kit.deps import Approver, Ctx, Releaser, Viewer
from flightdeck.planning.api.deps import IfMatch
from flightdeck.planning.api.errors import PlanningRoute
from flightdeck.planning.api.requests import AddItem, AddItems, CriterionBody, SignBody, ToggleBody
from flightdeck.planning.api.views import (
    CandidateView,
    DescopingProposal,
    ItemsAdded,
    ItemView,
    ReleaseView,
    item_document,
    json_response,
    release_response,
)
from flightdeck.planning.domain import descoping
from flightdeck.planning.domain.model import Signoff
from flightdeck.planning.service import queries, releases

router = APIRouter(prefix="/releases/{release_id}", tags=["scope"], route_class=PlanningRoute)


@router.post("/items", status_code=201, response_model=ItemView)
async def add_item(
    release_id: str,
    body: AddItem,
    context: Ctx,
    _caller: Releaser,
    if_match: IfMatch = None,
) -> Response:
    """Add a scope item to a draft release."""
    release, added = await releases.add_items(context.uow(), release_id, [body.draft()], if_match)
    return json_response(item_document(added[0]), 201, release)


@router.post("/items/batch", status_code=201, response_model=ItemsAdded)
async def add_items(
    release_id: str,
    body: AddItems,
    context: Ctx,
    _caller: Releaser,
    if_match: IfMatch = None,
) -> Response:
    """Add several items at once (all or none); they may depend on each other by `id`."""
    release, added = await releases.add_items(
        context.uow(),
        release_id,
        [item.draft() for item in body.items],
        if_match,
        location="body.items",
    )
    document = {
        "release_id": release.id,
        "resource_version": release.resource_version,
        "items": [item_document(item) for item in added],
    }
    return json_response(document, 201, release)


@router.delete("/items/{item_id}", response_model=ReleaseView)
async def remove_item(
    release_id: str,
    item_id: str,
    context: Ctx,
    caller: Releaser,
    reason: Annotated[str | None, Query(max_length=2000)] = None,
    cascade: bool = False,
    if_match: IfMatch = None,
) -> Response:
    """Remove an item (with its dependants when `cascade=true`). From a scoped release this
    is a scope reduction: `reason` is required and ScopeReduced is published."""
    release = await releases.remove_item(
        context.uow(),
        release_id,
        item_id,
        cascade=cascade,
        reason=reason,
        if_match=if_match,
        by=caller.subject,
        now=context.clock(),
    )
    return release_response(release)


@router.put("/rollback-criteria", response_model=ReleaseView)
async def set_rollback_criteria(
    release_id: str,
    body: list[CriterionBody],
    context: Ctx,
    _caller: Releaser,
    if_match: IfMatch = None,
) -> Response:
    """Replace the release's rollback criteria."""
    criteria = [c.criterion() for c in body]
    release = await releases.set_rollback_criteria(context.uow(), release_id, criteria, if_match)
    return release_response(release)


@router.post("/toggles", status_code=201, response_model=ReleaseView)
async def document_toggle(
    release_id: str,
    body: ToggleBody,
    context: Ctx,
    _caller: Releaser,
    if_match: IfMatch = None,
) -> Response:
    """Document a feature toggle (key, owner, default, removal date)."""
    release = await releases.document_toggle(context.uow(), release_id, body.toggle(), if_match)
    return release_response(release, 201)


@router.post("/signoffs", status_code=201, response_model=ReleaseView)
async def sign_off(
    release_id: str,
    body: SignBody,
    context: Ctx,
    caller: Approver,
    if_match: IfMatch = None,
) -> Response:
    """Record a readiness decision signed by the caller; publishes ReleaseReadinessSigned."""
    signoff = Signoff(body.function, body.decision, caller.subject, context.clock(), body.note)
    release = await releases.sign(context.uow(), release_id, signoff, if_match)
    return release_response(release, 201)


@router.post("/scope", response_model=ReleaseView)
async def freeze_scope(
    release_id: str,
    context: Ctx,
    _caller: Releaser,
    if_match: IfMatch = None,
) -> Response:
    """Freeze the scope: 409 listing every broken rule, or `scoped` and ReleaseScoped."""
    release = await releases.freeze_scope(context.uow(), release_id, if_match, context.clock())
    return release_response(release)


@router.get("/descoping-proposal")
async def descoping_proposal(release_id: str, context: Ctx, _caller: Viewer) -> DescopingProposal:
    """Every item ranked for removal (1 = drop first), with the reason."""
    release = await queries.release(context.reader, release_id)
    ranked = descoping.proposal(release)
    return DescopingProposal(release_id=release.id, items=[CandidateView.of(c) for c in ranked])
