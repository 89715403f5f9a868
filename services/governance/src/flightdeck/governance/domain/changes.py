"""What the rules answer: the change after a decision, the events it causes and the notes
for the audit trail; and the refusals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flightdeck.events.envelope import Event
from flightdeck.governance.domain.model import ChangeRequest, ChangeState


class ChangeRefused(Exception):
    """A rule refuses the request."""

    def __init__(self, reason: str, *, rule: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.rule = rule


class NotPermitted(ChangeRefused):
    """The caller may not do this (segregation of duties, missing role)."""


class WrongState(ChangeRefused):
    """The change is in a state where this cannot happen."""


@dataclass(frozen=True, slots=True)
class AuditNote:
    """One decision to append to the audit trail."""

    action: str
    actor: str
    reason: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Outcome:
    """A change after a rule was applied, with what it caused."""

    change: ChangeRequest
    events: list[Event] = field(default_factory=list)
    notes: list[AuditNote] = field(default_factory=list)
    transitions: list[tuple[ChangeState, ChangeState]] = field(default_factory=list)

    def move(self, to: ChangeState, actor: str, reason: str, **evidence: Any) -> None:
        """Move the change to `to`, noting why."""
        before = self.change.state
        self.change.state = to
        self.transitions.append((before, to))
        self.notes.append(
            AuditNote(f"state:{to}", actor, reason, {"from": before, "to": to, **evidence})
        )
