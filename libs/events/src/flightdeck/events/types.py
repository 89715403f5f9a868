"""Field types shared by the event models."""

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field


def _to_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:  # 0001-01-01T00:00+01:00 has no UTC time
        raise ValueError("the time is out of range once converted to UTC") from exc


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
"""An RFC 3339 time with an offset, held in UTC. Naive datetimes are rejected."""

NonEmptyStr = Annotated[str, Field(min_length=1)]
