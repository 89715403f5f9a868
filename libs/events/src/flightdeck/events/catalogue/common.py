"""Value types that several events carry."""

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from flightdeck.events.types import NonEmptyStr, UtcDatetime


class Part(BaseModel):
    """A value object nested in an event: tolerant of unknown fields, immutable."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class Commit(Part):
    """A commit carried by a scope item or a deployment."""

    repo: NonEmptyStr
    sha: NonEmptyStr
    authored_at: UtcDatetime
    merged_at: UtcDatetime | None = None


class EnvironmentTier(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    STAGING = "staging"
    UAT = "uat"
    PRODUCTION = "production"


class Comparator(StrEnum):
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    EQ = "eq"

    def holds(self, actual: float, threshold: float) -> bool:
        """Whether `actual <comparator> threshold` is true."""
        match self:
            case Comparator.GT:
                return actual > threshold
            case Comparator.GTE:
                return actual >= threshold
            case Comparator.LT:
                return actual < threshold
            case Comparator.LTE:
                return actual <= threshold
            case Comparator.EQ:
                return actual == threshold
