"""Cursor pagination: opaque cursors holding the sort key of the last item returned."""

from __future__ import annotations

import base64
import binascii
from typing import Any, Generic, TypeVar

import orjson
from pydantic import BaseModel

from flightdeck.kit.problems import Problem

T = TypeVar("T")

MAX_LIMIT = 500


class Page(BaseModel, Generic[T]):
    """One page of a list and the cursor of the next (null on the last page)."""

    items: list[T]
    next_cursor: str | None = None


def encode_cursor(*key: Any) -> str:
    """An opaque cursor for the sort key `key`."""
    return base64.urlsafe_b64encode(orjson.dumps(list(key), default=str)).decode().rstrip("=")


def decode_cursor(cursor: str | None, arity: int) -> list[Any] | None:
    """The sort key inside a cursor; 422 when it is not one of ours."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError) as exc:
        raise Problem(422, "cursor is not valid", slug="invalid-cursor") from exc
    if not isinstance(key, list) or len(key) != arity:
        raise Problem(422, "cursor is not valid", slug="invalid-cursor")
    return key


def check_limit(limit: int) -> int:
    """A page size within bounds."""
    if not 1 <= limit <= MAX_LIMIT:
        raise Problem(422, f"limit must be between 1 and {MAX_LIMIT}", slug="invalid-limit")
    return limit
