"""RFC 9457 problem details for every error path."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://flightdeck.dev/problems/"


class Problem(Exception):
    """An error answered as `application/problem+json`.

    `slug` names the problem type (`TYPE_BASE + slug`); `extensions` become extra members
    such as `violations` or `errors`.
    """

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        slug: str | None = None,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.slug = slug or _slug(status)
        self.title = title or HTTPStatus(status).phrase
        self.headers = headers or {}
        self.extensions = extensions

    def body(self, instance: str | None = None) -> dict[str, Any]:
        """The problem document."""
        document: dict[str, Any] = {
            "type": TYPE_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            document["instance"] = instance
        document.update(self.extensions)
        return document


def _slug(status: int) -> str:
    return HTTPStatus(status).phrase.lower().replace(" ", "-").replace("'", "")


class Violation(dict[str, str]):
    """One broken rule: `{"rule": ..., "detail": ...}`."""

    def __init__(self, rule: str, detail: str) -> None:
        super().__init__(rule=rule, detail=detail)


def not_found(what: str, ident: str) -> Problem:
    """404 for a missing resource."""
    return Problem(404, f"{what} {ident} does not exist", slug="not-found")


def conflict(detail: str, *, slug: str = "conflict", **extensions: Any) -> Problem:
    """409 for a request that clashes with the resource's state."""
    return Problem(409, detail, slug=slug, **extensions)


def rules_violated(detail: str, violations: Sequence[Violation], status: int = 409) -> Problem:
    """A rule failure listing every violated rule together."""
    return Problem(status, detail, slug="rules-violated", violations=list(violations))


def invalid(detail: str, errors: Sequence[dict[str, Any]]) -> Problem:
    """422 with the list of input errors."""
    return Problem(
        422, detail, slug="validation-error", title="Invalid request", errors=list(errors)
    )


def problem_response(problem: Problem, instance: str | None = None) -> Response:
    """The HTTP response of a problem."""
    return Response(
        orjson.dumps(problem.body(instance)),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=problem.headers,
    )


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ())]
        message = error.get("msg", "invalid")
        if error.get("type") == "json_invalid":
            # FastAPI puts the character offset where the field name would be.
            offset = location[1] if len(location) > 1 else "?"
            reason = (error.get("ctx") or {}).get("error", "not valid JSON")
            location, message = location[:1], f"invalid JSON at character {offset}: {reason}"
        errors.append(
            {
                "location": ".".join(location),
                "message": message,
                "type": error.get("type", "value_error"),
            }
        )
    return errors


def install(app: FastAPI) -> None:
    """Answer every error of `app` with problem+json."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> Response:
        return problem_response(exc, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = _validation_errors(exc)
        detail = "; ".join(f"{e['location']}: {e['message']}" for e in errors[:5])
        return problem_response(invalid(detail or "invalid request", errors), request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        carried = getattr(exc, "problem", None)
        if isinstance(carried, Problem):
            return problem_response(carried, request.url.path)
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        headers = dict(exc.headers or {})
        return problem_response(Problem(exc.status_code, detail, headers=headers), request.url.path)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        problem = Problem(500, "an unexpected error occurred; it has been logged", slug="internal")
        return problem_response(problem, request.url.path)
