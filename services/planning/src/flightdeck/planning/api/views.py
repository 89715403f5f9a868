"""Response bodies of the planning API.

The models document the responses (OpenAPI) and build the small ones; a release, which may
carry hundreds of items, is written straight to JSON by `release_response` in the same shape
(`ReleaseView`), without validating what the domain already guarantees."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import orjson
from fastapi import Response
from pydantic import BaseModel, Field

from flightdeck.events.catalogue.planning import BlackoutReason
from flightdeck.kit.versioning import etag
from flightdeck.planning.domain.calendar import Blackout, Occurrence
from flightdeck.planning.domain.descoping import Candidate
from flightdeck.planning.domain.model import (
    Item,
    ItemKind,
    Release,
    ReleaseState,
    SignoffDecision,
    SignoffFunction,
)


class CommitView(BaseModel):
    repo: str
    sha: str
    authored_at: datetime
    merged_at: datetime | None


class ItemView(BaseModel):
    id: str
    kind: ItemKind
    title: str
    priority: int
    regulatory: bool
    depends_on: list[str]
    commits: list[CommitView]
    feature_toggle: str | None


class CriterionView(BaseModel):
    metric: str
    comparator: str
    threshold: float
    window_seconds: int


class ToggleView(BaseModel):
    key: str
    owner: str
    default: bool
    remove_by: date
    description: str | None


class SignoffView(BaseModel):
    function: SignoffFunction
    decision: SignoffDecision
    signer: str
    at: datetime
    note: str | None


class KnownIssueView(BaseModel):
    id: str
    title: str
    workaround: str
    impact: str
    reported_by: str
    reported_at: datetime


class DeploymentView(BaseModel):
    service: str
    deployment_id: str
    finished_at: datetime


class RejectionView(BaseModel):
    change_id: str
    rejected_by: str
    reason: str
    at: datetime


class ReleaseSummary(BaseModel):
    """A release in a list."""

    id: str
    name: str
    version: str = Field(description="The software version.")
    resource_version: int = Field(description="The resource version (ETag, If-Match).")
    state: ReleaseState
    services: list[str]
    team: str
    target_environment: str
    planned_start: datetime
    planned_end: datetime
    owner: str


class ReleaseView(ReleaseSummary):
    """A release with everything it carries (`flags` lists warnings: `change_rejected`)."""

    created_by: str
    created_at: datetime
    scoped_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    flags: list[str]
    items: list[ItemView]
    rollback_criteria: list[CriterionView]
    toggles: list[ToggleView]
    signoffs: list[SignoffView]
    known_issues: list[KnownIssueView]
    deployments: list[DeploymentView]
    change_rejections: list[RejectionView]


def release_document(release: Release) -> dict[str, Any]:
    """The `ReleaseView` of a release as plain data (the parts are dataclasses whose fields
    are the view's, which orjson writes natively)."""
    return {
        "id": release.id,
        "name": release.name,
        "version": release.version,
        "resource_version": release.resource_version,
        "state": release.state,
        "services": release.services,
        "team": release.team,
        "target_environment": release.target_environment,
        "planned_start": release.planned_start,
        "planned_end": release.planned_end,
        "owner": release.owner,
        "created_by": release.created_by,
        "created_at": release.created_at,
        "scoped_at": release.scoped_at,
        "cancelled_at": release.cancelled_at,
        "cancel_reason": release.cancel_reason,
        "flags": release.flags,
        "items": [item_document(item) for item in release.items],
        "rollback_criteria": release.rollback_criteria,
        "toggles": release.toggles,
        "signoffs": release.signoffs,
        "known_issues": release.known_issues,
        "deployments": release.deployments,
        "change_rejections": release.rejections,
    }


def item_document(item: Item) -> dict[str, Any]:
    """The `ItemView` of an item as plain data."""
    return {
        "id": item.id,
        "kind": item.kind,
        "title": item.title,
        "priority": item.priority,
        "regulatory": item.regulatory,
        "depends_on": item.depends_on,
        "commits": item.commits,
        "feature_toggle": item.feature_toggle,
    }


def json_response(
    document: Any, status_code: int = 200, release: Release | None = None
) -> Response:
    """A JSON response (times in UTC with `Z`), with the release's ETag when given."""
    headers = {"ETag": etag(release.resource_version)} if release is not None else None
    body = orjson.dumps(document, option=orjson.OPT_UTC_Z)
    return Response(body, status_code=status_code, media_type="application/json", headers=headers)


def release_response(release: Release, status_code: int = 200) -> Response:
    """The release as a `ReleaseView` response with its ETag."""
    return json_response(release_document(release), status_code, release)


class ItemsAdded(BaseModel):
    """The items a batch added and the release's new resource version."""

    release_id: str
    resource_version: int
    items: list[ItemView]


class CandidateView(BaseModel):
    rank: int
    item_id: str
    title: str
    priority: int
    regulatory: bool
    commits: int
    dependants: list[str]
    reason: str

    @classmethod
    def of(cls, candidate: Candidate) -> CandidateView:
        item = candidate.item
        return cls(
            rank=candidate.rank,
            item_id=item.id,
            title=item.title,
            priority=item.priority,
            regulatory=item.regulatory,
            commits=len(item.commits),
            dependants=list(candidate.dependants),
            reason=candidate.reason,
        )


class DescopingProposal(BaseModel):
    release_id: str
    items: list[CandidateView]


class BlackoutView(BaseModel):
    id: str
    name: str
    reason: BlackoutReason
    starts_at: datetime
    ends_at: datetime
    timezone: str
    rrule: str | None
    services: list[str]
    teams: list[str]
    declared_by: str
    declared_at: datetime | None

    @classmethod
    def of(cls, blackout: Blackout) -> BlackoutView:
        fields = vars(blackout) | {
            "services": list(blackout.services),
            "teams": list(blackout.teams),
        }
        return cls(**fields)


class OccurrenceView(BaseModel):
    blackout_id: str
    name: str
    reason: BlackoutReason
    starts_at: datetime
    ends_at: datetime

    @classmethod
    def of(cls, occurrence: Occurrence) -> OccurrenceView:
        return cls(**vars(occurrence))


class ConflictsView(BaseModel):
    start: datetime
    end: datetime
    occurrences: list[OccurrenceView]
    next_free_start: datetime | None = Field(
        description="The earliest start at or after `start` fitting the same duration with no "
        "overlapping occurrence (null when none within two years)."
    )


class StaleToggleView(BaseModel):
    release_id: str
    release_name: str
    key: str
    owner: str
    default: bool
    remove_by: date
    description: str | None
