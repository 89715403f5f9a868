"""FastAPI dependencies shared by every service's routes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from flightdeck.kit.auth import Principal, Role
from flightdeck.kit.context import ServiceContext
from flightdeck.kit.http import note_subject
from flightdeck.kit.problems import Problem

_bearer = HTTPBearer(
    auto_error=False, description="A Flightdeck API token (`flightdeck token create`)."
)


# The dependencies are coroutines although they never wait: FastAPI runs plain functions in
# its thread pool, a hop per dependency per request.


async def get_context(request: Request) -> ServiceContext:
    """The running service's context."""
    context: ServiceContext = request.app.state.context
    return context


Ctx = Annotated[ServiceContext, Depends(get_context)]


async def authenticated(
    context: Ctx,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller, from `Authorization: Bearer <token>`; 401 without a valid token."""
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Problem(401, "a bearer token is required", slug="unauthenticated", headers=challenge)
    principal = context.tokens.authenticate(credentials.credentials)
    if principal is None:
        raise Problem(
            401, "the bearer token is not valid", slug="unauthenticated", headers=challenge
        )
    note_subject(principal.subject)  # for the access log line
    return principal


def require(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency admitting callers holding at least one of `roles` (admin always)."""
    names = " or ".join(role.value for role in roles)

    async def check(principal: Annotated[Principal, Depends(authenticated)]) -> Principal:
        if not principal.has_any(roles):
            held = ", ".join(sorted(r.value for r in principal.roles)) or "none"
            raise Problem(
                403,
                f"this needs the {names} role; {principal.subject} holds {held}",
                slug="forbidden",
            )
        return principal

    return check


Caller = Annotated[Principal, Depends(authenticated)]
Viewer = Annotated[Principal, Depends(require(Role.VIEWER))]
Releaser = Annotated[Principal, Depends(require(Role.RELEASER))]
Approver = Annotated[Principal, Depends(require(Role.APPROVER))]
Operator = Annotated[Principal, Depends(require(Role.OPERATOR))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
