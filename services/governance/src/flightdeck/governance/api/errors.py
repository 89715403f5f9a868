"""Refusals of the domain and use cases, answered as problem+json."""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.responses import Response

from flightdeck.governance.domain.changes import ChangeRefused, NotPermitted
from flightdeck.governance.service.errors import (
    Duplicate,
    InvalidReference,
    NotFound,
    StaleVersion,
)
from flightdeck.kit.problems import Problem, conflict, invalid, not_found, problem_response


def problem_of(exc: Exception) -> Problem:
    """The problem a refusal is answered with."""
    match exc:
        case NotPermitted():
            return Problem(403, exc.reason, slug=exc.rule, title="Not permitted")
        case ChangeRefused():
            return conflict(exc.reason, slug=exc.rule)
        case NotFound():
            return not_found(exc.what, exc.ident)
        case InvalidReference():
            error = {"location": exc.location, "message": exc.message, "type": "unknown_reference"}
            return invalid(exc.message, [error])
        case Duplicate():
            return conflict(str(exc), slug="duplicate")
        case StaleVersion():
            return Problem(412, f"{exc}; read it again", slug="version-mismatch")
    raise TypeError(f"no problem for {type(exc).__name__}")


def install(app: FastAPI) -> None:
    """Answer the governance refusals with problem+json."""

    async def answer(request: Request, exc: Exception) -> Response:
        return problem_response(problem_of(exc), request.url.path)

    for kind in (ChangeRefused, NotFound, InvalidReference, Duplicate, StaleVersion):
        app.add_exception_handler(kind, answer)
