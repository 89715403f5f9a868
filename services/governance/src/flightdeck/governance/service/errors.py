"""Refusals of use cases that are not rule decisions of a change."""

from __future__ import annotations


class NotFound(Exception):
    """The named resource does not exist."""

    def __init__(self, what: str, ident: str) -> None:
        super().__init__(f"{what} {ident} does not exist")
        self.what = what
        self.ident = ident


class InvalidReference(Exception):
    """A request names something that does not exist (answered as 422)."""

    def __init__(self, location: str, message: str) -> None:
        super().__init__(message)
        self.location = location
        self.message = message


class Duplicate(Exception):
    """The resource exists already (answered as 409)."""


class StaleVersion(Exception):
    """Someone else wrote a newer version first (answered as 412)."""
