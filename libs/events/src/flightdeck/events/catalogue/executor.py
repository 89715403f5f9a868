"""Events published by the executor on `flightdeck.executor.events`."""

from enum import StrEnum
from typing import ClassVar

from flightdeck.events.catalogue.common import Commit, EnvironmentTier
from flightdeck.events.envelope import Event
from flightdeck.events.types import NonEmptyStr, UtcDatetime


class Strategy(StrEnum):
    ROLLING = "rolling"
    BLUE_GREEN = "blue_green"
    CANARY = "canary"


class DeploymentOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"
    CANCELLED = "cancelled"


class RunOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"


class StepStatus(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"


class _ExecutorEvent(Event):
    producer: ClassVar[str] = "executor"
    subject_field: ClassVar[str] = "deployment_id"


class _WindowEvent(_ExecutorEvent):
    subject_field: ClassVar[str] = "environment"

    window_id: NonEmptyStr
    environment: NonEmptyStr
    opens_at: UtcDatetime
    closes_at: UtcDatetime
    timezone: NonEmptyStr
    max_deployments: int | None = None

    def event_correlation(self) -> str:
        return self.window_id


class WindowOpened(_WindowEvent):
    ce_type: ClassVar[str] = "flightdeck.window.opened.v1"


class WindowClosed(_WindowEvent):
    ce_type: ClassVar[str] = "flightdeck.window.closed.v1"


class DeploymentQueued(_ExecutorEvent):
    ce_type: ClassVar[str] = "flightdeck.deployment.queued.v1"
    subject_field: ClassVar[str] = "environment"

    deployment_id: NonEmptyStr
    environment: NonEmptyStr
    service: NonEmptyStr
    version: NonEmptyStr
    position: int
    queued_at: UtcDatetime
    release_id: str | None = None
    change_id: str | None = None
    superseded_deployment_id: str | None = None


class DeploymentStarted(_ExecutorEvent):
    ce_type: ClassVar[str] = "flightdeck.deployment.started.v1"

    deployment_id: NonEmptyStr
    release_id: str | None = None
    change_id: str | None = None
    service: NonEmptyStr
    version: NonEmptyStr
    environment: NonEmptyStr
    strategy: Strategy
    owner: NonEmptyStr
    started_at: UtcDatetime
    is_rollback: bool | None = None


class DeploymentStepCompleted(_ExecutorEvent):
    ce_type: ClassVar[str] = "flightdeck.deployment.step_completed.v1"

    deployment_id: NonEmptyStr
    step: NonEmptyStr
    index: int
    status: StepStatus
    completed_at: UtcDatetime
    release_id: str | None = None
    weight_percent: int | None = None
    detail: str | None = None


class DeploymentFinished(_ExecutorEvent):
    ce_type: ClassVar[str] = "flightdeck.deployment.finished.v1"

    deployment_id: NonEmptyStr
    release_id: str | None = None
    change_id: str | None = None
    service: NonEmptyStr
    team: str | None = None
    version: NonEmptyStr
    environment: NonEmptyStr
    environment_tier: EnvironmentTier
    strategy: Strategy
    outcome: DeploymentOutcome
    is_rollback: bool
    is_unplanned: bool
    commits: list[Commit]
    started_at: UtcDatetime
    finished_at: UtcDatetime
    source: NonEmptyStr
    rollback_of: str | None = None
    url: str | None = None


class PipelineRunFinished(_ExecutorEvent):
    ce_type: ClassVar[str] = "flightdeck.pipeline.run_finished.v1"
    subject_field: ClassVar[str] = "run_id"

    run_id: NonEmptyStr
    provider: NonEmptyStr
    repo: NonEmptyStr
    service: NonEmptyStr
    commit_sha: NonEmptyStr
    outcome: RunOutcome
    started_at: UtcDatetime
    finished_at: UtcDatetime
    url: str
    branch: str | None = None
    pipeline: str | None = None


class ChangeMerged(_ExecutorEvent):
    ce_type: ClassVar[str] = "flightdeck.change.merged.v1"
    subject_field: ClassVar[str] = "merge_id"

    merge_id: NonEmptyStr
    provider: NonEmptyStr
    repo: NonEmptyStr
    merge_commit_sha: NonEmptyStr
    target_branch: NonEmptyStr
    commits: list[Commit]
    merged_at: UtcDatetime
    service: str | None = None
    title: str | None = None
    url: str | None = None
