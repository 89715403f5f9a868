"""The events the planning service consumes, and their handlers."""

from __future__ import annotations

import logging

from flightdeck.events.catalogue.executor import DeploymentFinished
from flightdeck.events.catalogue.governance import ChangeRejected
from flightdeck.events.envelope import Envelope
from flightdeck.kit.messaging import Subscriptions
from flightdeck.planning.db.uow import PlanningUnitOfWork
from flightdeck.planning.domain import lifecycle
from flightdeck.planning.domain.model import Rejection
from flightdeck.planning.service import releases

log = logging.getLogger(__name__)

subscriptions: Subscriptions[PlanningUnitOfWork] = Subscriptions()


@subscriptions.on(DeploymentFinished)
async def on_deployment_finished(
    envelope: Envelope[DeploymentFinished], uow: PlanningUnitOfWork
) -> None:
    """A succeeded production deployment of a release's service counts towards `released`."""
    reported = lifecycle.reported_deployment(envelope.data)
    if reported is not None:
        await releases.record_deployment(uow, *reported)


@subscriptions.on(ChangeRejected)
async def on_change_rejected(envelope: Envelope[ChangeRejected], uow: PlanningUnitOfWork) -> None:
    """A rejected change flags its release."""
    data = envelope.data
    if not data.release_id:
        return
    rejection = Rejection(data.change_id, data.rejected_by, data.reason, envelope.time)
    await releases.record_rejection(uow, data.release_id, rejection)
