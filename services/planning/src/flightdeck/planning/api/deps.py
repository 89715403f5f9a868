"""Dependencies of the planning routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Response

from flightdeck.kit.versioning import etag
from flightdeck.planning.domain.model import Release

IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description="The release's ETag as last read; 412 when it changed since.",
    ),
]


def tag(response: Response, release: Release) -> None:
    """Send the release's resource version as its ETag."""
    response.headers["ETag"] = etag(release.resource_version)
