"""The CloudEvents Kafka protocol binding, binary content mode.

The message value is the event data as UTF-8 JSON, the key is the subject, and every
CloudEvents attribute travels in a `ce_*` header.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from flightdeck.events.catalogue import event_class
from flightdeck.events.envelope import SPEC_VERSION, Envelope, Event
from flightdeck.events.opaque import opaque_class

CONTENT_TYPE = "application/json"
_REQUIRED = ("ce_specversion", "ce_id", "ce_source", "ce_type")
_KNOWN = frozenset(
    {
        "ce_specversion",
        "ce_id",
        "ce_source",
        "ce_type",
        "ce_time",
        "ce_subject",
        "ce_dataschema",
        "ce_correlationid",
        "ce_causationid",
        "ce_traceparent",
        "content-type",
    }
)

Headers = list[tuple[str, bytes]]

MAX_OPAQUE_TYPE = 255
"""The longest type kept for an unknown event (what a consumer's log column holds)."""


class DecodeError(Exception):
    """A record that cannot become an envelope; `reason` says why."""

    def __init__(self, reason: str, *, ce_type: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.ce_type = ce_type


class UnknownEventType(DecodeError):
    """A well-formed CloudEvent of a type this codebase does not know."""


class MalformedEvent(DecodeError):
    """Missing attributes, bad JSON, or data that fails its model."""


@dataclass(frozen=True, slots=True)
class KafkaMessage:
    """What goes on the wire: key, value and headers (the topic is chosen by the caller)."""

    key: bytes
    value: bytes
    headers: Headers

    def header(self, name: str) -> str | None:
        """The first header of that name, decoded."""
        for key, value in self.headers:
            if key == name:
                return value.decode()
        return None


def encode(envelope: Envelope[Any]) -> KafkaMessage:
    """The Kafka message of an envelope."""
    headers: Headers = [
        ("ce_specversion", SPEC_VERSION.encode()),
        ("ce_id", envelope.id.encode()),
        ("ce_source", envelope.source.encode()),
        ("ce_type", envelope.type.encode()),
        ("ce_time", format_time(envelope.time).encode()),
        ("ce_subject", envelope.subject.encode()),
        ("content-type", CONTENT_TYPE.encode()),
        ("ce_dataschema", envelope.dataschema.encode()),
    ]
    optional = {
        "ce_correlationid": envelope.correlation_id,
        "ce_causationid": envelope.causation_id,
        "ce_traceparent": envelope.traceparent,
    }
    headers += [(name, value.encode()) for name, value in optional.items() if value]
    headers += [(f"ce_{name}", value.encode()) for name, value in envelope.extensions.items()]
    value = envelope.data.model_dump_json(exclude_none=False).encode()
    return KafkaMessage(key=envelope.subject.encode(), value=value, headers=headers)


def decode(
    value: bytes | None,
    headers: Sequence[tuple[str, bytes]],
    *,
    registry: Mapping[str, type[Event]] | None = None,
    keep_unknown: bool = False,
) -> Envelope[Event]:
    """The envelope of a Kafka message; raises UnknownEventType or MalformedEvent. With
    `keep_unknown`, a well-formed event of an unknown type comes back with opaque data (any
    JSON object) instead of raising UnknownEventType."""
    attrs = _attributes(headers)
    missing = [name for name in _REQUIRED if not attrs.get(name)]
    if missing:
        raise MalformedEvent(f"missing CloudEvents headers: {', '.join(missing)}")
    ce_type = attrs["ce_type"]
    if attrs["ce_specversion"] != SPEC_VERSION:
        raise MalformedEvent(
            f"unsupported specversion {attrs['ce_specversion']!r}", ce_type=ce_type
        )
    cls = registry.get(ce_type) if registry is not None else event_class(ce_type)
    if cls is None:
        if not keep_unknown:
            raise UnknownEventType(f"unknown event type {ce_type!r}", ce_type=ce_type)
        if len(ce_type) > MAX_OPAQUE_TYPE or not ce_type.isprintable():
            raise MalformedEvent(
                f"ce_type must be printable and at most {MAX_OPAQUE_TYPE} characters",
                ce_type=ce_type[:MAX_OPAQUE_TYPE],
            )
        cls = opaque_class(ce_type)
    data = _data(cls, value, ce_type)
    return Envelope(
        data=data,
        id=attrs["ce_id"],
        source=attrs["ce_source"],
        time=_time(attrs.get("ce_time"), ce_type),
        subject=attrs.get("ce_subject") or data.event_subject(),
        correlation_id=attrs.get("ce_correlationid"),
        causation_id=attrs.get("ce_causationid"),
        traceparent=attrs.get("ce_traceparent"),
        extensions={
            name.removeprefix("ce_"): text
            for name, text in attrs.items()
            if name.startswith("ce_") and name not in _KNOWN
        },
    )


def format_time(value: datetime) -> str:
    """RFC 3339 in UTC with a `Z`."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _attributes(headers: Sequence[tuple[str, bytes]]) -> dict[str, str]:
    attrs: dict[str, str] = {}
    for name, raw in headers:
        if name in attrs:
            continue
        try:
            attrs[name] = raw.decode() if raw is not None else ""
        except UnicodeDecodeError as exc:
            raise MalformedEvent(f"header {name} is not UTF-8") from exc
    return attrs


def _data(cls: type[Event], value: bytes | None, ce_type: str) -> Event:
    if not value:
        raise MalformedEvent("empty message value", ce_type=ce_type)
    try:
        return cls.model_validate_json(value)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise MalformedEvent(
            f"data does not match {cls.__name__}: {problems}", ce_type=ce_type
        ) from exc


def _time(text: str | None, ce_type: str) -> datetime:
    if not text:
        raise MalformedEvent("missing ce_time", ce_type=ce_type)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise MalformedEvent(f"ce_time {text!r} is not RFC 3339", ce_type=ce_type) from exc
    if moment.tzinfo is None:
        raise MalformedEvent(f"ce_time {text!r} has no offset", ce_type=ce_type)
    return moment
