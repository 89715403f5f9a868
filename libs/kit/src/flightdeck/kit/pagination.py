"""Cursor pagination: opaque cursors holding the sort key of the last item returned."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
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


def decode_cursor(cursor: str | None, *types: type) -> list[Any] | None:
    """The sort key inside a cursor, each part checked against `types` (`datetime` parts
    are parsed from RFC 3339); 422 when it is not a cursor we made."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(key, list) or len(key) != len(types):
            raise ValueError("wrong shape")
        return [_typed(part, kind) for part, kind in zip(key, types, strict=True)]
    except (binascii.Error, ValueError, TypeError) as exc:
        raise Problem(422, "cursor is not valid", slug="invalid-cursor") from exc


def _typed(part: Any, kind: type) -> Any:
    if kind is datetime:
        moment = datetime.fromisoformat(part)
        if moment.tzinfo is None:
            raise ValueError("naive time in cursor")
        return moment
    if kind is float and isinstance(part, int) and not isinstance(part, bool):
        return float(part)
    if not isinstance(part, kind) or (kind is int and isinstance(part, bool)):
        raise TypeError(f"expected {kind.__name__}")
    return part


def check_limit(limit: int) -> int:
    """A page size within bounds."""
    if not 1 <= limit <= MAX_LIMIT:
        raise Problem(422, f"limit must be between 1 and {MAX_LIMIT}", slug="invalid-limit")
    return limit
