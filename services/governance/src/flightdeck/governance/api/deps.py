"""Who may call what, and the governance unit of work for a request."""

from typing import Annotated

from fastapi import Depends, Header

from flightdeck.governance.db.uow import GovernanceUnitOfWork
from flightdeck.kit.auth import Principal, Role
from flightdeck.kit.deps import Ctx, require

Requester = Annotated[Principal, Depends(require(Role.RELEASER, Role.OPERATOR))]
"""Releasers and operators request and cancel changes."""
Decider = Annotated[Principal, Depends(require(Role.CAB, Role.SENIOR_OPS, Role.APPROVER))]
"""Approving roles (the quorum decides which one a change needs)."""
Reviewer = Annotated[Principal, Depends(require(Role.CAB, Role.SENIOR_OPS, Role.OPERATOR))]
PolicyEditor = Annotated[Principal, Depends(require(Role.ADMIN, Role.CAB))]
"""Templates are kept by the CAB (and admins)."""
IfMatch = Annotated[str | None, Header(description="The ETag of the version you last read.")]


def unit_of_work(context: Ctx) -> GovernanceUnitOfWork:
    """A fresh governance unit of work."""
    uow: GovernanceUnitOfWork = context.uow()
    return uow


Uow = Annotated[GovernanceUnitOfWork, Depends(unit_of_work)]
