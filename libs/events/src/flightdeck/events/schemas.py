"""JSON Schemas and the AsyncAPI 3 document, generated from the event models, and the
compatibility check that keeps a `.v1` type additive."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from flightdeck.events.catalogue import ALL_EVENTS
from flightdeck.events.envelope import Event
from flightdeck.events.topics import PUBLISHERS, SERVICES, dlq_topic, events_topic

Schema = dict[str, Any]

HEADER_SCHEMA: Schema = {
    "type": "object",
    "required": ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_subject"],
    "properties": {
        "ce_specversion": {"type": "string", "const": "1.0"},
        "ce_id": {"type": "string", "description": "UUID; the deduplication key"},
        "ce_source": {"type": "string", "description": "/flightdeck/<service>"},
        "ce_type": {"type": "string", "description": "flightdeck.<aggregate>.<verb>.v<major>"},
        "ce_time": {"type": "string", "format": "date-time"},
        "ce_subject": {"type": "string", "description": "aggregate id; also the message key"},
        "content-type": {"type": "string", "const": "application/json"},
        "ce_dataschema": {"type": "string", "format": "uri"},
        "ce_correlationid": {"type": "string", "description": "release id, else deployment id"},
        "ce_causationid": {"type": "string", "description": "ce_id of the causing event"},
        "ce_traceparent": {"type": "string", "description": "W3C trace context"},
    },
}


def event_schema(cls: type[Event]) -> Schema:
    """The standalone JSON Schema of one event type's data."""
    schema = cls.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": cls.event_dataschema(),
        "x-cloudevents-type": cls.ce_type,
        **schema,
    }


def write_schemas(directory: Path, events: Iterable[type[Event]] = ALL_EVENTS) -> list[Path]:
    """Write one `<ce_type>.json` per event type; returns the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for cls in events:
        path = directory / f"{cls.ce_type}.json"
        path.write_text(dump(event_schema(cls)))
        written.append(path)
    return written


def dump(document: Any) -> str:
    """Stable, diff-friendly JSON."""
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def asyncapi_document(events: Iterable[type[Event]] = ALL_EVENTS) -> Schema:
    """An AsyncAPI 3.0 document of every topic, message and payload."""
    by_producer: dict[str, list[type[Event]]] = defaultdict(list)
    for cls in events:
        by_producer[cls.producer].append(cls)
    components: Schema = {"messages": {}, "schemas": {}}
    channels: Schema = {}
    operations: Schema = {}
    for service in PUBLISHERS:
        classes = by_producer.get(service, [])
        for cls in classes:
            _add_message(components, cls)
        channel = f"{service}Events"
        channels[channel] = {
            "address": events_topic(service),
            "description": f"Domain events published by the {service} service.",
            "messages": {
                c.__name__: {"$ref": f"#/components/messages/{c.__name__}"} for c in classes
            },
        }
        operations[f"{service}Publishes"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel}"},
            "messages": [{"$ref": f"#/channels/{channel}/messages/{c.__name__}"} for c in classes],
        }
    for service in SERVICES:
        channels[f"{service}DeadLetters"] = {
            "address": dlq_topic(service),
            "description": (
                f"Records the {service} consumer gave up on: the original key, value and headers, "
                "plus dlq_error, dlq_error_type, dlq_attempts, dlq_failed_at and the original "
                "topic, partition and offset."
            ),
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Flightdeck domain events",
            "version": "1.0.0",
            "description": (
                "CloudEvents 1.0 in Kafka binary content mode: the value is the event data as "
                "JSON, the key is the subject, attributes travel in ce_* headers."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "kafka": {"host": "kafka:9092", "protocol": "kafka", "description": "docker compose"},
            "embedded": {"host": "127.0.0.1:9092", "protocol": "kafka", "description": "make run"},
        },
        "channels": channels,
        "operations": operations,
        "components": components,
    }


def _add_message(components: Schema, cls: type[Event]) -> None:
    schema = cls.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in schema.pop("$defs", {}).items():
        components["schemas"].setdefault(name, definition)
    components["schemas"][cls.__name__] = schema
    components["messages"][cls.__name__] = {
        "name": cls.ce_type,
        "title": cls.__name__,
        "summary": (cls.__doc__ or cls.__name__).strip().splitlines()[0],
        "contentType": "application/json",
        "headers": {
            **HEADER_SCHEMA,
            "properties": {
                **HEADER_SCHEMA["properties"],
                "ce_type": {"type": "string", "const": cls.ce_type},
                "ce_source": {"type": "string", "const": cls.event_source()},
            },
        },
        "payload": {"$ref": f"#/components/schemas/{cls.__name__}"},
        "bindings": {
            "kafka": {"key": {"type": "string", "description": f"the {cls.subject_field}"}}
        },
    }


# --- compatibility -------------------------------------------------------------------------


def incompatibilities(old: Schema, new: Schema) -> list[str]:
    """Why `new` would break a consumer or producer written against `old` (empty if none).

    Within a major version a schema may only add optional fields, widen a type (for instance
    make it nullable) or add enum values. Removing or retyping a field, adding a required
    field, or making an optional one required is a breaking change.
    """
    return _compare(old, old.get("$defs", {}), new, new.get("$defs", {}), "")


def _resolve(schema: Schema, defs: Schema) -> Schema:
    while "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _variants(schema: Schema, defs: Schema) -> list[Schema]:
    schema = _resolve(schema, defs)
    if "anyOf" in schema:
        return [v for branch in schema["anyOf"] for v in _variants(branch, defs)]
    if "oneOf" in schema:
        return [v for branch in schema["oneOf"] for v in _variants(branch, defs)]
    return [schema]


def _kind(schema: Schema) -> str:
    kind = schema.get("type", "any")
    if "enum" in schema or "const" in schema:
        return f"{kind}:enum"
    return f"{kind}:{schema['format']}" if "format" in schema else str(kind)


def _compare(old: Schema, old_defs: Schema, new: Schema, new_defs: Schema, path: str) -> list[str]:
    problems: list[str] = []
    new_by_kind = {_kind(v): v for v in _variants(new, new_defs)}
    for variant in _variants(old, old_defs):
        kind = _kind(variant)
        counterpart = new_by_kind.get(kind)
        if counterpart is None:
            problems.append(f"{path or '(root)'}: type {kind} is no longer accepted")
            continue
        problems += _compare_same_kind(variant, old_defs, counterpart, new_defs, path)
    return problems


def _compare_same_kind(
    old: Schema, old_defs: Schema, new: Schema, new_defs: Schema, path: str
) -> list[str]:
    problems: list[str] = []
    if "enum" in old:
        removed = set(old["enum"]) - set(new.get("enum") or old["enum"])
        if removed:
            problems.append(f"{path}: enum values removed: {sorted(removed)}")
    if old.get("type") == "array" and "items" in old:
        problems += _compare(old["items"], old_defs, new.get("items", {}), new_defs, f"{path}[]")
    if old.get("type") == "object" or "properties" in old:
        old_props, new_props = old.get("properties", {}), new.get("properties", {})
        for name, prop in old_props.items():
            where = f"{path}.{name}" if path else name
            if name not in new_props:
                problems.append(f"{where}: field removed")
            else:
                problems += _compare(prop, old_defs, new_props[name], new_defs, where)
        newly_required = set(new.get("required", [])) - set(old.get("required", []))
        for name in sorted(newly_required):
            where = f"{path}.{name}" if path else name
            origin = "optional field made required" if name in old_props else "new required field"
            problems.append(f"{where}: {origin}")
    return problems
