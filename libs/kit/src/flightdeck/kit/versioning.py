"""Optimistic concurrency: resources carry a version, sent as an ETag; updates send it
back in `If-Match` and get 412 when someone else changed the resource first."""

from __future__ import annotations

from flightdeck.kit.problems import Problem


def etag(version: int) -> str:
    """The ETag of a resource version."""
    return f'"{version}"'


def check_if_match(if_match: str | None, current: int, *, required: bool = False) -> None:
    """412 when `If-Match` names another version (or is missing while required)."""
    if if_match is None:
        if required:
            raise Problem(
                428, "send If-Match with the version you last read", slug="precondition-required"
            )
        return
    tags = [tag.strip() for tag in if_match.split(",")]
    if "*" in tags or etag(current) in tags:  # strong comparison (RFC 9110): W/ never matches
        return
    wanted = [tag.removeprefix("W/").strip('"') for tag in tags]
    raise Problem(
        412,
        f"the resource is at version {current}, not {', '.join(sorted(wanted))}; read it again",
        slug="version-mismatch",
        current_version=current,
    )
