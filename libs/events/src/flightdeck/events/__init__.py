"""Flightdeck's published language: events, their Kafka binding, outbox, inbox and consumers."""

from flightdeck.events.catalogue import EVENT_TYPES, event_class
from flightdeck.events.envelope import Envelope, Event
from flightdeck.events.topics import Topics

__all__ = ["EVENT_TYPES", "Envelope", "Event", "Topics", "event_class"]
