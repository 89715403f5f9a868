"""Domain refusals as problem+json: every planning route runs through `PlanningRoute`."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import asdict
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.exc import IntegrityError

from flightdeck.kit.problems import Problem, invalid, not_found
from flightdeck.planning.db.repositories import ConcurrentChange
from flightdeck.planning.domain.errors import (
    InvalidInput,
    NotFound,
    PlanningError,
    RulesBroken,
    StateConflict,
)


def as_problem(error: PlanningError | ConcurrentChange, if_match: str | None) -> Problem:
    """The problem answering a domain refusal."""
    match error:
        case InvalidInput():
            return invalid(str(error), [asdict(e) for e in error.errors])
        case RulesBroken():
            violations = [{"rule": v.rule, "detail": v.detail, **v.data} for v in error.violations]
            return Problem(409, error.detail, slug="rules-violated", violations=violations)
        case StateConflict():
            return Problem(409, error.detail, slug=error.slug, **error.extensions)
        case NotFound():
            return not_found(error.what, error.ident)
        case ConcurrentChange():
            status = 412 if if_match else 409
            return Problem(
                status,
                "the release changed while this request was applied; read it again",
                slug="version-mismatch" if if_match else "concurrent-change",
            )
    return Problem(409, str(error))


class PlanningRoute(APIRoute):
    """A route whose domain refusals become problems (404, 409, 412, 422)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except (PlanningError, ConcurrentChange) as error:
                raise as_problem(error, request.headers.get("if-match")) from error
            except IntegrityError as error:  # a concurrent request stored the same key first
                detail = "a concurrent request changed the same data first; read it and retry"
                raise Problem(409, detail, slug="concurrent-change") from error

        return guarded
