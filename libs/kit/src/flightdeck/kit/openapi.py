"""The OpenAPI document says what the API really answers on errors: problem+json."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from flightdeck.kit.problems import PROBLEM_JSON

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "invalid input: where and what",
            "items": {
                "type": "object",
                "properties": {
                    "location": {"type": "string"},
                    "message": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
        "violations": {
            "type": "array",
            "description": "broken rules",
            "items": {
                "type": "object",
                "properties": {"rule": {"type": "string"}, "detail": {"type": "string"}},
            },
        },
    },
}

_REF = {"$ref": "#/components/schemas/Problem"}
_DESCRIPTIONS = {
    "401": "No or invalid bearer token",
    "403": "The token lacks the needed role",
    "413": "Request body too large",
    "415": "Request body is not JSON",
    "422": "Invalid request",
}


def install(app: FastAPI) -> None:
    """Generate the document once, with problem+json error responses."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            _with_problems(document)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _with_problems(document: dict[str, Any]) -> None:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for path_item in document.get("paths", {}).values():
        for method, operation in path_item.items():
            responses = operation.setdefault("responses", {})
            wanted = {"422"} if "422" in responses else set()
            if operation.get("security"):
                wanted |= {"401", "403"}
            if method in {"post", "put", "patch"}:
                wanted |= {"413", "415"}
            for status in wanted:
                responses[status] = _problem(_DESCRIPTIONS[status])
            for status, response in responses.items():
                if status.startswith(("4", "5")) and "application/json" in response.get(
                    "content", {}
                ):
                    responses[status] = {**response, "content": {PROBLEM_JSON: {"schema": _REF}}}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": _REF}}}
