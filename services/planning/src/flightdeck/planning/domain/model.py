"""The release aggregate: a release and what it carries (items, rollback criteria, toggles,
sign-offs, known issues), plus what other services told us about it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from flightdeck.events.catalogue.common import Comparator
from flightdeck.events.catalogue.planning import ItemKind, SignoffDecision, SignoffFunction

__all__ = [
    "Commit",
    "Comparator",
    "Deployment",
    "Item",
    "ItemKind",
    "KnownIssue",
    "Rejection",
    "Release",
    "ReleasePlan",
    "ReleaseState",
    "RollbackCriterion",
    "Signoff",
    "SignoffDecision",
    "SignoffFunction",
    "Toggle",
]


class ReleaseState(StrEnum):
    """Where a release is in its lifecycle: draft → scoped → (in_progress) → released."""

    DRAFT = "draft"
    SCOPED = "scoped"
    IN_PROGRESS = "in_progress"
    RELEASED = "released"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Commit:
    """A commit an item carries."""

    repo: str
    sha: str
    authored_at: datetime
    merged_at: datetime | None = None


@dataclass(frozen=True)
class Item:
    """A scope item: a feature, fix or chore with its dependencies and commits."""

    id: str
    release_id: str
    kind: ItemKind
    title: str
    priority: int
    regulatory: bool
    depends_on: tuple[str, ...] = ()
    commits: tuple[Commit, ...] = ()
    feature_toggle: str | None = None
    position: int = 0


@dataclass(frozen=True)
class RollbackCriterion:
    """A machine-checkable condition under which the release is rolled back."""

    metric: str
    comparator: Comparator
    threshold: float
    window_seconds: int


@dataclass(frozen=True)
class Toggle:
    """A documented feature toggle."""

    key: str
    owner: str
    default: bool
    remove_by: date
    description: str | None = None


@dataclass(frozen=True)
class Signoff:
    """One readiness decision of a function (the latest per function counts)."""

    function: SignoffFunction
    decision: SignoffDecision
    signer: str
    at: datetime
    note: str | None = None


@dataclass(frozen=True)
class KnownIssue:
    """A known issue shipped with the release, for the notes."""

    id: str
    title: str
    workaround: str
    impact: str
    reported_by: str
    reported_at: datetime


@dataclass(frozen=True)
class Deployment:
    """A succeeded production deployment of one of the release's services."""

    service: str
    deployment_id: str
    finished_at: datetime


@dataclass(frozen=True)
class Rejection:
    """A change request of the release that governance rejected."""

    change_id: str
    rejected_by: str
    reason: str
    at: datetime


@dataclass(frozen=True)
class ReleasePlan:
    """What a release is planned with (`version` is the software version)."""

    name: str
    version: str
    services: tuple[str, ...]
    team: str
    target_environment: str
    planned_start: datetime
    planned_end: datetime
    owner: str


@dataclass(frozen=True)
class Release(ReleasePlan):
    """A planned release and everything it carries.

    `version` is the software version being released; `resource_version` counts the
    changes of this resource (the ETag).
    """

    id: str
    created_by: str
    created_at: datetime
    state: ReleaseState = ReleaseState.DRAFT
    resource_version: int = 1
    scoped_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    items: tuple[Item, ...] = ()
    rollback_criteria: tuple[RollbackCriterion, ...] = ()
    toggles: tuple[Toggle, ...] = ()
    signoffs: tuple[Signoff, ...] = ()
    known_issues: tuple[KnownIssue, ...] = ()
    deployments: tuple[Deployment, ...] = field(default=())
    rejections: tuple[Rejection, ...] = ()

    @property
    def flags(self) -> list[str]:
        """Warnings a reader should see (a rejected change)."""
        return ["change_rejected"] if self.rejections else []

    def item(self, item_id: str) -> Item | None:
        """The item with this id, if the release holds it."""
        return next((item for item in self.items if item.id == item_id), None)

    def toggle(self, key: str) -> Toggle | None:
        """The documented toggle with this key."""
        return next((toggle for toggle in self.toggles if toggle.key == key), None)

    def latest_signoffs(self) -> dict[SignoffFunction, Signoff]:
        """The latest decision per function."""
        latest: dict[SignoffFunction, Signoff] = {}
        for signoff in sorted(self.signoffs, key=lambda s: s.at):
            latest[signoff.function] = signoff
        return latest

    def bumped(self, **changes: Any) -> Release:
        """This release with `changes` and the next resource version."""
        return replace(self, resource_version=self.resource_version + 1, **changes)
