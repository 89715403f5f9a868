"""The CloudEvents 1.0 envelope and the base class of every event's data."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

SPEC_VERSION = "1.0"


class Event(BaseModel):
    """The data of a domain event: a past-tense fact, published by one service."""

    model_config = ConfigDict(extra="ignore", frozen=True, use_enum_values=False)

    ce_type: ClassVar[str]
    """CloudEvents type, `flightdeck.<aggregate>.<verb>.v<major>`."""
    producer: ClassVar[str]
    """The service whose topic carries this event."""
    subject_field: ClassVar[str]
    """The data field holding the aggregate id, used as subject and message key."""

    def event_subject(self) -> str:
        """The aggregate this event is about (message key)."""
        return str(getattr(self, self.subject_field))

    def event_correlation(self) -> str:
        """The default correlation id: the release, else the deployment, else the subject."""
        for name in ("release_id", "deployment_id"):
            value = getattr(self, name, None)
            if value:
                return str(value)
        return self.event_subject()

    @classmethod
    def event_dataschema(cls) -> str:
        """The id of this type's JSON Schema."""
        return f"https://flightdeck.dev/schemas/{cls.ce_type}.json"

    @classmethod
    def event_source(cls) -> str:
        """The CloudEvents source of this type's producer."""
        return f"/flightdeck/{cls.producer}"


E = TypeVar("E", bound=Event)


def _new_id() -> str:
    return str(uuid.uuid4())


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Envelope(Generic[E]):
    """One event with its CloudEvents attributes."""

    data: E
    id: str = field(default_factory=_new_id)
    time: datetime = field(default_factory=_now)
    source: str = ""
    subject: str = ""
    correlation_id: str | None = None
    causation_id: str | None = None
    traceparent: str | None = None
    extensions: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.time.tzinfo is None:
            raise ValueError("event time must carry a time zone")
        if self.time.utcoffset():
            object.__setattr__(self, "time", self.time.astimezone(UTC))
        if not self.source:
            object.__setattr__(self, "source", self.data.event_source())
        if not self.subject:
            object.__setattr__(self, "subject", self.data.event_subject())
        if self.correlation_id is None:
            object.__setattr__(self, "correlation_id", self.data.event_correlation())

    @property
    def type(self) -> str:
        """The CloudEvents type."""
        return self.data.ce_type

    @property
    def dataschema(self) -> str:
        """The JSON Schema id of the data."""
        return self.data.event_dataschema()

    @classmethod
    def caused_by(
        cls,
        data: E,
        cause: Envelope[Any] | None,
        *,
        time: datetime | None = None,
        traceparent: str | None = None,
        correlation_id: str | None = None,
    ) -> Envelope[E]:
        """A new event caused by `cause`: it names the cause and keeps its correlation id,
        unless the event itself belongs to a release (then the release id correlates)."""
        release_id = getattr(data, "release_id", None)
        return cls(
            data=data,
            time=time or _now(),
            correlation_id=correlation_id
            or release_id
            or (cause.correlation_id if cause else None),
            causation_id=cause.id if cause else None,
            traceparent=traceparent or (cause.traceparent if cause else None),
        )
