"""Times a request may carry: aware, in UTC, and within the range services compute with."""

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator

from flightdeck.events.types import UtcDatetime

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)
"""Calendar arithmetic near Python's year 1 and 9999 edges overflows; requests stay inside."""


def _computable(moment: datetime) -> datetime:
    if not EARLIEST <= moment < LATEST:
        raise ValueError("times lie between 1970 and the year 3000")
    return moment


Moment = Annotated[UtcDatetime, AfterValidator(_computable)]
"""An RFC 3339 time with an offset (naive ones are refused), held in UTC, 1970 to 3000."""
