"""Committed JSON Schemas and AsyncAPI stay current, and a `.v1` type only grows compatibly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flightdeck.events.catalogue import ALL_EVENTS
from flightdeck.events.schemas import asyncapi_document, dump, event_schema, incompatibilities
from flightdeck.events.topics import PUBLISHERS, events_topic

DOCS = Path(__file__).resolve().parents[2] / "docs" / "events"


@pytest.mark.parametrize("cls", ALL_EVENTS, ids=lambda cls: cls.ce_type)
def test_committed_schema_accepts_the_current_model(cls: type) -> None:
    path = DOCS / "schemas" / f"{cls.ce_type}.json"
    assert path.exists(), f"{path.name} is not committed: run `make schemas`"
    committed = json.loads(path.read_text())
    current = event_schema(cls)
    assert incompatibilities(committed, current) == [], (
        "breaking change: publish a .v2 type instead"
    )
    assert dump(current) == path.read_text(), "schemas are stale: run `make schemas` and commit"


def test_asyncapi_document_is_current_and_covers_every_topic() -> None:
    document = asyncapi_document()
    assert (DOCS / "asyncapi.json").read_text() == dump(document), "run `make schemas`"
    assert document["asyncapi"] == "3.0.0"
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert {events_topic(s) for s in PUBLISHERS} <= addresses
    assert {cls.__name__ for cls in ALL_EVENTS} == set(document["components"]["messages"])


BASE = {
    "type": "object",
    "required": ["id", "at"],
    "properties": {
        "id": {"type": "string"},
        "at": {"type": "string", "format": "date-time"},
        "note": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
        "kind": {"$ref": "#/$defs/Kind"},
        "items": {"type": "array", "items": {"$ref": "#/$defs/Item"}},
    },
    "$defs": {
        "Kind": {"enum": ["a", "b"], "type": "string"},
        "Item": {"type": "object", "required": ["sha"], "properties": {"sha": {"type": "string"}}},
    },
}


def _changed(**edits: object) -> dict:
    schema = json.loads(json.dumps(BASE))
    for path, value in edits.items():
        node = schema
        *parents, leaf = path.split("__")
        for key in parents:
            node = node[key]
        if value is None:
            del node[leaf]
        else:
            node[leaf] = value
    return schema


def test_additive_optional_changes_are_compatible() -> None:
    grown = _changed(properties__extra={"type": "integer"})
    assert incompatibilities(BASE, grown) == []
    widened = _changed(properties__id={"anyOf": [{"type": "string"}, {"type": "null"}]})
    assert incompatibilities(BASE, widened) == []
    more_kinds = _changed(**{"$defs__Kind": {"enum": ["a", "b", "c"], "type": "string"}})
    assert incompatibilities(BASE, more_kinds) == []


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"properties__note": None}, "note: field removed"),
        ({"properties__id": {"type": "integer"}}, "id: type string is no longer accepted"),
        ({"required": ["id", "at", "note"]}, "note: optional field made required"),
        (
            {"properties__extra": {"type": "string"}, "required": ["id", "at", "extra"]},
            "extra: new required field",
        ),
        ({"$defs__Kind": {"enum": ["a"], "type": "string"}}, "kind: enum values removed: ['b']"),
        ({"$defs__Item": {"type": "object", "properties": {}}}, "items[].sha: field removed"),
        ({"properties__at": {"type": "string"}}, "at: type string:date-time is no longer accepted"),
    ],
)
def test_breaking_changes_are_caught(edit: dict, message: str) -> None:
    assert message in incompatibilities(BASE, _changed(**edit))


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            {"type": "string", "enum": ["a", "b"]},
            {"type": "string", "const": "a"},
            "enum values removed: ['b']",
        ),
        (
            {"type": "string", "const": "a"},
            {"type": "string", "const": "b"},
            "enum values removed: ['a']",
        ),
        ({"type": "string"}, {"type": "string", "minLength": 2}, "minLength tightened to 2"),
        (
            {"type": "string", "maxLength": 9},
            {"type": "string", "maxLength": 5},
            "maxLength tightened to 5",
        ),
        ({"type": "string"}, {"type": "string", "pattern": "^a"}, "pattern changed"),
        ({"type": "integer"}, {"type": "integer", "minimum": 0}, "minimum tightened to 0"),
        (
            {"type": "array", "items": {"type": "string"}},
            {"type": "array", "items": {"type": "string"}, "maxItems": 3},
            "maxItems tightened to 3",
        ),
        (
            {"type": "object", "additionalProperties": {"type": "string"}},
            {"type": "object", "additionalProperties": {"type": "integer"}},
            "{*}: type string is no longer accepted",
        ),
        (
            {"type": "array", "prefixItems": [{"type": "string"}]},
            {"type": "array", "prefixItems": [{"type": "integer"}]},
            "[0]: type string is no longer accepted",
        ),
        (
            {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
            {"type": "object", "properties": {"a": {"type": "string"}}},
            "a: required field made optional",
        ),
        (
            {"type": "object"},
            {"type": "object", "additionalProperties": False},
            "unknown fields now rejected",
        ),
        (
            {"type": "string"},
            {"type": "string", "enum": ["x"]},
            "type string is no longer accepted",
        ),
    ],
)
def test_more_breaking_changes_are_caught(old: dict, new: dict, message: str) -> None:
    assert any(message in problem for problem in incompatibilities(old, new)), incompatibilities(
        old, new
    )


def test_union_variants_are_paired_by_model() -> None:
    commit = {
        "title": "Commit",
        "type": "object",
        "properties": {"sha": {"type": "string"}},
        "required": ["sha"],
    }
    pull = {
        "title": "Pull",
        "type": "object",
        "properties": {"number": {"type": "integer"}},
        "required": ["number"],
    }
    union = {"anyOf": [commit, pull]}
    assert incompatibilities(union, {"anyOf": [pull, commit]}) == []
    assert incompatibilities(union, {"anyOf": [commit]}) == [
        "(root): type object:Pull is no longer accepted"
    ]


def test_no_type_broke_against_any_earlier_committed_schema() -> None:
    """Regenerating the schema files cannot hide a breaking change: every version of each
    schema in the history of this repository is checked against today's model."""
    import shutil
    import subprocess

    root = DOCS.parents[1]
    if shutil.which("git") is None or not (root / ".git").exists():
        pytest.skip("not a git checkout")
    problems = []
    for cls in ALL_EVENTS:
        relative = f"docs/events/schemas/{cls.ce_type}.json"
        revisions = subprocess.run(
            ["git", "log", "--format=%H", "--", relative],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        for revision in revisions:
            text = subprocess.run(
                ["git", "show", f"{revision}:{relative}"],
                cwd=root,
                capture_output=True,
                text=True,
                check=False,
            ).stdout
            if text:
                for problem in incompatibilities(json.loads(text), event_schema(cls)):
                    problems.append(f"{cls.ce_type} vs {revision[:8]}: {problem}")
    assert problems == []
