"""The planning service's unit of work: the kit's, with the repositories."""

from __future__ import annotations

from flightdeck.kit.uow import UnitOfWork
from flightdeck.planning.db.repositories import Calendar, Releases


class PlanningUnitOfWork(UnitOfWork):
    """One transaction over releases and the calendar, with the outbox (and inbox)."""

    releases: Releases
    calendar: Calendar

    def _open(self) -> None:
        self.releases = Releases(self.session)
        self.calendar = Calendar(self.session)
