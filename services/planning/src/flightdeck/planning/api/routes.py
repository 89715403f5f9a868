"""HTTP routes of the planning service."""

from fastapi import APIRouter

from flightdeck.planning.api import calendar, releases, scope, toggles

router = APIRouter()
router.include_router(releases.router)
router.include_router(scope.router)
router.include_router(calendar.router)
router.include_router(toggles.router)
