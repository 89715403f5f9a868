"""Dependencies of the planning routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header

IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description="The release's ETag as last read; 412 when it changed since.",
    ),
]
