"""The events the planning service consumes, and their handlers.

Other producers' text is checked at this boundary: an identifier that cannot be one of ours
(longer than our columns, or holding NUL, which PostgreSQL cannot store) is logged and left
out instead of failing the handler until the record is dead-lettered, and descriptive text
is kept without NUL characters, cut to what the column holds."""

from __future__ import annotations

import logging

from flightdeck.events.catalogue.executor import DeploymentFinished
from flightdeck.events.catalogue.governance import ChangeRejected
from flightdeck.events.envelope import Envelope
from flightdeck.kit.messaging import Subscriptions
from flightdeck.planning.db.tables import ID, NAME
from flightdeck.planning.db.uow import PlanningUnitOfWork
from flightdeck.planning.domain import lifecycle
from flightdeck.planning.domain.model import Deployment, Rejection
from flightdeck.planning.service import releases

log = logging.getLogger(__name__)

subscriptions: Subscriptions[PlanningUnitOfWork] = Subscriptions()


@subscriptions.on(DeploymentFinished)
async def on_deployment_finished(
    envelope: Envelope[DeploymentFinished], uow: PlanningUnitOfWork
) -> None:
    """A succeeded production deployment of a release's service counts towards `released`."""
    reported = lifecycle.reported_deployment(envelope.data)
    if reported is None:
        return
    release_id, deployment = reported
    if not _storable(release_id, ID) or not _storable(deployment.service, NAME):
        log.warning("deployment %s names no release of ours; ignored", envelope.id)
        return
    kept = Deployment(
        deployment.service, _plain(deployment.deployment_id, NAME), deployment.finished_at
    )
    await releases.record_deployment(uow, release_id, kept)


@subscriptions.on(ChangeRejected)
async def on_change_rejected(envelope: Envelope[ChangeRejected], uow: PlanningUnitOfWork) -> None:
    """A rejected change flags its release."""
    data = envelope.data
    if not data.release_id:
        return
    if not _storable(data.release_id, ID) or not _storable(data.change_id, NAME):
        log.warning("rejection %s names no release or change we can keep; ignored", envelope.id)
        return
    rejection = Rejection(
        data.change_id, _plain(data.rejected_by, NAME), _plain(data.reason), envelope.time
    )
    await releases.record_rejection(uow, data.release_id, rejection)


def _storable(ident: str, width: int) -> bool:
    """Whether an identifier fits its column as it is."""
    return len(ident) <= width and "\x00" not in ident


def _plain(text: str, width: int | None = None) -> str:
    """Descriptive text without NUL characters, cut to `width`."""
    return text.replace("\x00", "")[:width]
