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
from flightdeck.events.topics import PUBLISHERS, SERVICES, dlq_topic, events_topic, retry_topic

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
        channels[f"{service}Retries"] = {
            "address": retry_topic(service),
            "description": (
                f"Dead letters of the {service} consumer replayed to it alone (same key, value "
                "and headers as the original record)."
            ),
        }
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

_LOWER_BOUNDS = ("minLength", "minItems", "minimum", "exclusiveMinimum", "minProperties")
_UPPER_BOUNDS = ("maxLength", "maxItems", "maximum", "exclusiveMaximum", "maxProperties")


def incompatibilities(old: Schema, new: Schema) -> list[str]:
    """Why `new` would break a consumer or producer written against `old` (empty if none).

    Within a major version a schema may only add optional fields, widen a type (for instance
    make it nullable), add enum values or loosen a constraint. Removing or retyping a field,
    adding a required field, making a field required or optional, narrowing an enum or a
    constant, and tightening a length, bound, pattern or item count all break someone.
    """
    return _compare(old, old.get("$defs", {}), new, new.get("$defs", {}), "")


def _resolve(schema: Schema, defs: Schema) -> Schema:
    while "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _variants(schema: Schema, defs: Schema) -> list[Schema]:
    schema = _resolve(schema, defs)
    for union in ("anyOf", "oneOf"):
        if union in schema:
            return [v for branch in schema[union] for v in _variants(branch, defs)]
    return [schema]


def _kind(schema: Schema) -> str:
    kind = str(schema.get("type", "any"))
    if kind == "object" and "title" in schema:
        return f"object:{schema['title']}"
    if "enum" in schema or "const" in schema:
        return f"{kind}:enum"
    return f"{kind}:{schema['format']}" if "format" in schema else kind


def _values(schema: Schema) -> set[Any] | None:
    if "const" in schema:
        return {schema["const"]}
    return set(schema["enum"]) if "enum" in schema else None


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
    where = path or "(root)"
    problems = _constraints(old, new, where)
    old_values, new_values = _values(old), _values(new)
    if old_values is not None:
        removed = old_values - (new_values if new_values is not None else old_values)
        if removed:
            problems.append(f"{where}: enum values removed: {sorted(removed, key=str)}")
    elif new_values is not None:
        problems.append(f"{where}: now restricted to {sorted(new_values, key=str)}")
    if old.get("type") == "array":
        problems += _compare(
            old.get("items", {}), old_defs, new.get("items", {}), new_defs, f"{path}[]"
        )
        for n, item in enumerate(old.get("prefixItems", [])):
            counterpart = (new.get("prefixItems") or [])[n : n + 1]
            other = counterpart[0] if counterpart else new.get("items", {})
            problems += _compare(item, old_defs, other, new_defs, f"{path}[{n}]")
    if old.get("type") == "object" or "properties" in old:
        problems += _compare_objects(old, old_defs, new, new_defs, path)
    return problems


def _constraints(old: Schema, new: Schema, where: str) -> list[str]:
    problems = []
    for key in _LOWER_BOUNDS:
        if key in new and (key not in old or new[key] > old[key]):
            problems.append(f"{where}: {key} tightened to {new[key]}")
    for key in _UPPER_BOUNDS:
        if key in new and (key not in old or new[key] < old[key]):
            problems.append(f"{where}: {key} tightened to {new[key]}")
    for key in ("pattern", "multipleOf"):
        if key in new and new.get(key) != old.get(key):
            problems.append(f"{where}: {key} changed to {new[key]!r}")
    return problems


def _compare_objects(
    old: Schema, old_defs: Schema, new: Schema, new_defs: Schema, path: str
) -> list[str]:
    problems: list[str] = []
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
    for name, prop in old_props.items():
        where = f"{path}.{name}" if path else name
        if name not in new_props:
            problems.append(f"{where}: field removed")
            continue
        problems += _compare(prop, old_defs, new_props[name], new_defs, where)
        if name in old_required and name not in new_required:
            problems.append(f"{where}: required field made optional")
    for name in sorted(new_required - old_required):
        where = f"{path}.{name}" if path else name
        origin = "optional field made required" if name in old_props else "new required field"
        problems.append(f"{where}: {origin}")
    old_extra, new_extra = (
        old.get("additionalProperties", True),
        new.get("additionalProperties", True),
    )
    if new_extra is False and old_extra is not False:
        problems.append(f"{path or '(root)'}: unknown fields now rejected")
    elif isinstance(old_extra, dict) and isinstance(new_extra, dict):
        problems += _compare(old_extra, old_defs, new_extra, new_defs, f"{path}{{*}}")
    return problems
