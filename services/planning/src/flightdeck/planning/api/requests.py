"""Request bodies of the planning API."""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    FiniteFloat,
    StringConstraints,
)

from flightdeck.events.catalogue.planning import BlackoutReason
from flightdeck.kit.times import Moment
from flightdeck.planning.domain.model import (
    Commit,
    Comparator,
    ItemKind,
    ReleasePlan,
    RollbackCriterion,
    SignoffDecision,
    SignoffFunction,
    Toggle,
)
from flightdeck.planning.domain.scope import ItemDraft

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _one_line(text: str) -> str:
    if _CONTROL.search(text):
        raise ValueError("one line of text: no line breaks, tabs or other control characters")
    return text


Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_one_line),
]
"""A name or title: one line (no control characters), surrounding blanks dropped, so
"Alpha " and "alpha" are the same title and a title cannot break the Markdown notes."""
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
    planned_start: Moment
    planned_end: Moment
    owner: Text

    def draft(self) -> ReleasePlan:
        return ReleasePlan(
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
    authored_at: Moment
    merged_at: Moment | None = None


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
    starts_at: Moment
    ends_at: Moment
    timezone: Text = Field(description="IANA time zone, e.g. Europe/Berlin.")
    rrule: Annotated[str, Field(min_length=1, max_length=500)] | None = None
    services: list[Text] = Field(default=[], max_length=100)
    teams: list[Text] = Field(default=[], max_length=100)
