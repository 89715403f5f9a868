"""The data of well-formed CloudEvents whose type this codebase does not know (a newer
producer's type, another team's events on our topics), for consumers that record every event
as received rather than act on it: the metrics event log."""

from __future__ import annotations

from functools import lru_cache
from typing import ClassVar

from pydantic import ConfigDict

from flightdeck.events.envelope import Event


class OpaqueEvent(Event):
    """Any JSON object, kept field for field (`model_dump` gives it back)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    producer: ClassVar[str] = ""
    subject_field: ClassVar[str] = ""

    def event_subject(self) -> str:
        """Unknown: such events carry their subject in `ce_subject`, or none."""
        return ""

    def event_correlation(self) -> str:
        return ""


@lru_cache(maxsize=1024)
def opaque_class(ce_type: str) -> type[OpaqueEvent]:
    """The opaque data class of one unknown type (its `ce_type` set), made once per type."""
    name = "Opaque_" + "".join(c if c.isalnum() else "_" for c in ce_type)
    return type(name, (OpaqueEvent,), {"__module__": __name__, "ce_type": ce_type})
