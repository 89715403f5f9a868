"""The events the environments service consumes, and their handlers."""

from flightdeck.kit.messaging import Subscriptions
from flightdeck.kit.uow import UnitOfWork

subscriptions: Subscriptions[UnitOfWork] = Subscriptions()
