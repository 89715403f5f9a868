"""Refusals the domain raises; the API maps them to problem+json (422, 409)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class InputError:
    """One thing wrong with a request: where, and what."""

    location: str
    message: str
    type: str = "value_error"


class PlanningError(Exception):
    """Base of the domain's refusals."""


class InvalidInput(PlanningError):
    """The request is malformed for the domain (422): every error, listed together."""

    def __init__(self, errors: list[InputError]) -> None:
        super().__init__("; ".join(f"{e.location}: {e.message}" for e in errors[:5]))
        self.errors = errors


@dataclass(frozen=True)
class Violation:
    """One broken scope rule."""

    rule: str
    detail: str
    data: dict[str, Any] = field(default_factory=dict)


class RulesBroken(PlanningError):
    """The release breaks rules (409), every violation listed together."""

    def __init__(self, detail: str, violations: list[Violation]) -> None:
        super().__init__(detail)
        self.detail = detail
        self.violations = violations


class StateConflict(PlanningError):
    """The request clashes with the release's current state (409)."""

    def __init__(self, detail: str, *, slug: str = "conflict", **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.slug = slug
        self.extensions = extensions


class NotFound(PlanningError):
    """A release, item or blackout that does not exist (404)."""

    def __init__(self, what: str, ident: str) -> None:
        super().__init__(f"{what} {ident} does not exist")
        self.what = what
        self.ident = ident
