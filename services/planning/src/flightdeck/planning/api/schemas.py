"""Request and response bodies of the planning API."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, FiniteFloat

from flightdeck.events.catalogue.planning import BlackoutReason
from flightdeck.events.types import UtcDatetime
from flightdeck.planning.domain.calendar import Blackout, Occurrence
from flightdeck.planning.domain.descoping import Candidate
from flightdeck.planning.domain.model import (
    Commit,
    Comparator,
    Item,
    ItemKind,
    KnownIssue,
    Release,
    ReleaseState,
    RollbackCriterion,
    Signoff,
    SignoffDecision,
    SignoffFunction,
    Toggle,
)
from flightdeck.planning.domain.scope import ItemDraft, ReleaseDraft

Text = Annotated[str, Field(min_length=1, max_length=200)]
LongText = Annotated[str, Field(max_length=10_000)]
ItemId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]


class Body(BaseModel):
    """A request body: unknown fields are refused so typos do not pass silently."""

    model_config = ConfigDict(extra="forbid")


class PlanRelease(Body):
    """`POST /releases`."""

    name: Text
    version: Text = Field(description="The software version released, e.g. 2.4.0.")
    services: list[Text] = Field(min_length=1, max_length=100)
    team: Text
    target_environment: Text
    planned_start: UtcDatetime
    planned_end: UtcDatetime
    owner: Text

    def draft(self) -> ReleaseDraft:
        return ReleaseDraft(
            name=self.name,
            version=self.version,
            services=tuple(self.services),
            team=self.team,
            target_environment=self.target_environment,
            planned_start=self.planned_start,
            planned_end=self.planned_end,
            owner=self.owner,
        )


class CommitBody(Body):
    """A commit an item carries."""

    repo: Text
    sha: Annotated[str, Field(min_length=4, max_length=64)]
    authored_at: UtcDatetime
    merged_at: UtcDatetime | None = None


class AddItem(Body):
    """`POST /releases/{id}/items`; `id` is optional (generated when absent)."""

    id: ItemId | None = None
    kind: ItemKind
    title: Text
    priority: int = Field(ge=1, le=5, description="1 is the highest priority.")
    regulatory: bool = False
    depends_on: list[ItemId] = Field(default=[], max_length=200)
    commits: list[CommitBody] = Field(default=[], max_length=500)
    feature_toggle: Text | None = None

    def draft(self) -> ItemDraft:
        return ItemDraft(
            kind=self.kind,
            title=self.title,
            priority=self.priority,
            regulatory=self.regulatory,
            depends_on=tuple(self.depends_on),
            commits=tuple(Commit(c.repo, c.sha, c.authored_at, c.merged_at) for c in self.commits),
            feature_toggle=self.feature_toggle,
            id=self.id,
        )


class AddItems(Body):
    """`POST /releases/{id}/items/batch`: items that may depend on each other by `id`."""

    items: list[AddItem] = Field(min_length=1, max_length=1000)


class CriterionComparator(StrEnum):
    """Comparators a rollback criterion may use."""

    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"


class CriterionBody(Body):
    """One rollback criterion: roll back when `metric <comparator> threshold` over the window."""

    metric: Text
    comparator: CriterionComparator
    threshold: FiniteFloat
    window_seconds: int = Field(gt=0, le=7 * 24 * 3600)

    def criterion(self) -> RollbackCriterion:
        return RollbackCriterion(
            self.metric, Comparator(self.comparator.value), self.threshold, self.window_seconds
        )


class ToggleBody(Body):
    """`POST /releases/{id}/toggles`."""

    key: Text
    owner: Text
    default: bool
    remove_by: date
    description: LongText | None = None

    def toggle(self) -> Toggle:
        return Toggle(self.key, self.owner, self.default, self.remove_by, self.description)


class SignBody(Body):
    """`POST /releases/{id}/signoffs` (the signer is the caller)."""

    function: SignoffFunction
    decision: SignoffDecision
    note: LongText | None = None


class CancelBody(Body):
    """`POST /releases/{id}/cancel`."""

    reason: LongText = ""


class KnownIssueBody(Body):
    """`POST /releases/{id}/known-issues`."""

    title: Text
    workaround: LongText
    impact: LongText


class DeclareBlackout(Body):
    """`POST /calendar/blackouts`: the first occurrence, and an optional RFC 5545 RRULE
    evaluated in `timezone` on local wall-clock time."""

    name: Text
    reason: BlackoutReason
    starts_at: UtcDatetime
    ends_at: UtcDatetime
    timezone: Text = Field(description="IANA time zone, e.g. Europe/Berlin.")
    rrule: Annotated[str, Field(min_length=1, max_length=500)] | None = None
    services: list[Text] = Field(default=[], max_length=100)
    teams: list[Text] = Field(default=[], max_length=100)


# --- responses


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

    @classmethod
    def of(cls, item: Item) -> ItemView:
        return cls(
            id=item.id,
            kind=item.kind,
            title=item.title,
            priority=item.priority,
            regulatory=item.regulatory,
            depends_on=list(item.depends_on),
            commits=[CommitView(**vars(c)) for c in item.commits],
            feature_toggle=item.feature_toggle,
        )


class CriterionView(BaseModel):
    metric: str
    comparator: str
    threshold: float
    window_seconds: int

    @classmethod
    def of(cls, criterion: RollbackCriterion) -> CriterionView:
        return cls(
            metric=criterion.metric,
            comparator=criterion.comparator.value,
            threshold=criterion.threshold,
            window_seconds=criterion.window_seconds,
        )


class ToggleView(BaseModel):
    key: str
    owner: str
    default: bool
    remove_by: date
    description: str | None

    @classmethod
    def of(cls, toggle: Toggle) -> ToggleView:
        return cls(**vars(toggle))


class SignoffView(BaseModel):
    function: SignoffFunction
    decision: SignoffDecision
    signer: str
    at: datetime
    note: str | None

    @classmethod
    def of(cls, signoff: Signoff) -> SignoffView:
        return cls(**vars(signoff))


class KnownIssueView(BaseModel):
    id: str
    title: str
    workaround: str
    impact: str
    reported_by: str
    reported_at: datetime

    @classmethod
    def of(cls, issue: KnownIssue) -> KnownIssueView:
        return cls(**vars(issue))


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

    @classmethod
    def of(cls, release: Release) -> ReleaseSummary:
        return cls(**_summary_fields(release))


def _summary_fields(release: Release) -> dict[str, Any]:
    return {
        "id": release.id,
        "name": release.name,
        "version": release.version,
        "resource_version": release.resource_version,
        "state": release.state,
        "services": list(release.services),
        "team": release.team,
        "target_environment": release.target_environment,
        "planned_start": release.planned_start,
        "planned_end": release.planned_end,
        "owner": release.owner,
    }


class ReleaseView(ReleaseSummary):
    """A release with everything it carries."""

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

    @classmethod
    def of(cls, release: Release) -> ReleaseView:
        return cls(
            **_summary_fields(release),
            created_by=release.created_by,
            created_at=release.created_at,
            scoped_at=release.scoped_at,
            cancelled_at=release.cancelled_at,
            cancel_reason=release.cancel_reason,
            flags=release.flags,
            items=[ItemView.of(i) for i in release.items],
            rollback_criteria=[CriterionView.of(c) for c in release.rollback_criteria],
            toggles=[ToggleView.of(t) for t in release.toggles],
            signoffs=[SignoffView.of(s) for s in release.signoffs],
            known_issues=[KnownIssueView.of(k) for k in release.known_issues],
            deployments=[DeploymentView(**vars(d)) for d in release.deployments],
            change_rejections=[RejectionView(**vars(r)) for r in release.rejections],
        )


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
