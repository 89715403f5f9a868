"""The data of well-formed CloudEvents whose type this codebase does not know (a newer
producer's type, another team's events on our topics), for consumers that record every event
as received rather than act on it: the metrics event log."""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any, ClassVar, Self

from pydantic import ConfigDict, model_validator

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

    @model_validator(mode="after")
    def _storable(self) -> Self:
        """Refuse what cannot be kept as received: integers beyond 64 bits (the JSON
        serialiser refuses them, failing the consumer's whole batch) and numbers too large
        for a float (they would be kept as null)."""
        _check_numbers(self.__pydantic_extra__ or {})
        return self


def _check_numbers(value: Any) -> None:
    if isinstance(value, dict):
        for item in value.values():
            _check_numbers(item)
    elif isinstance(value, list):
        for item in value:
            _check_numbers(item)
    elif isinstance(value, bool):
        return
    elif isinstance(value, int) and not -(2**63) <= value < 2**64:
        raise ValueError(f"integer {value} beyond the 64-bit range")
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValueError("number too large for a 64-bit float")


@lru_cache(maxsize=1024)
def opaque_class(ce_type: str) -> type[OpaqueEvent]:
    """The opaque data class of one unknown type (its `ce_type` set), made once per type."""
    name = "Opaque_" + "".join(c if c.isalnum() else "_" for c in ce_type)
    return type(name, (OpaqueEvent,), {"__module__": __name__, "ce_type": ce_type})
