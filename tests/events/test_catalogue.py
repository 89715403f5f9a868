"""The event models: the fields DESIGN names, strict times, tolerant reading."""

from __future__ import annotations

from datetime import datetime

import orjson
import pytest
from pydantic import ValidationError

from flightdeck.events.catalogue import (
    ALL_EVENTS,
    EVENT_TYPES,
    DeploymentFinished,
    HealthCheckFailed,
    ReleaseScoped,
    WindowOpened,
    event_class,
)
from flightdeck.events.codec import MalformedEvent, UnknownEventType, decode, encode
from flightdeck.events.envelope import Envelope
from flightdeck.events.testing import example

DESIGN_TYPES = {
    "ReleasePlanned": "flightdeck.release.planned.v1",
    "ReleaseScoped": "flightdeck.release.scoped.v1",
    "ScopeReduced": "flightdeck.release.scope_reduced.v1",
    "ChangeRequested": "flightdeck.change.requested.v1",
    "ChangeApproved": "flightdeck.change.approved.v1",
    "ChangeRejected": "flightdeck.change.rejected.v1",
    "ChangeEscalated": "flightdeck.change.escalated.v1",
    "EnvironmentReserved": "flightdeck.environment.reserved.v1",
    "DriftDetected": "flightdeck.environment.drift_detected.v1",
    "WindowOpened": "flightdeck.window.opened.v1",
    "WindowClosed": "flightdeck.window.closed.v1",
    "DeploymentStarted": "flightdeck.deployment.started.v1",
    "DeploymentFinished": "flightdeck.deployment.finished.v1",
    "PipelineRunFinished": "flightdeck.pipeline.run_finished.v1",
    "QualityGateEvaluated": "flightdeck.quality_gate.evaluated.v1",
    "HealthCheckFailed": "flightdeck.healthcheck.failed.v1",
    "ServiceRestored": "flightdeck.service.restored.v1",
}

PUBLISHED_BY = {
    "planning": {
        "ReleasePlanned",
        "ReleaseScoped",
        "ScopeReduced",
        "ReleaseReadinessSigned",
        "ReleaseCancelled",
        # Beyond the DESIGN table: the business calendar, mirrored by governance for conflicts.
        "BlackoutDeclared",
        "BlackoutWithdrawn",
    },
    "governance": {
        "ChangeRequested",
        "ChangeApproved",
        "ChangeRejected",
        "ChangeEscalated",
        "ChangeClosed",
    },
    "environments": {
        "EnvironmentRegistered",
        "EnvironmentReserved",
        "ReservationReleased",
        "EnvironmentExpired",
        "DriftDetected",
        "ConnectivityChecked",
    },
    "executor": {
        "WindowOpened",
        "WindowClosed",
        "DeploymentQueued",
        "DeploymentStarted",
        "DeploymentStepCompleted",
        "DeploymentFinished",
        "PipelineRunFinished",
        "ChangeMerged",
    },
    "validation": {
        "QualityGateEvaluated",
        "VerificationStarted",
        "VerificationPassed",
        "HealthCheckFailed",
        "ServiceRestored",
        "AnomalyRecorded",
    },
}


def test_the_catalogue_holds_every_designed_type_under_its_fixed_name() -> None:
    names = {cls.__name__: cls.ce_type for cls in ALL_EVENTS}
    for name, ce_type in DESIGN_TYPES.items():
        assert names[name] == ce_type
    for service, expected in PUBLISHED_BY.items():
        assert {cls.__name__ for cls in ALL_EVENTS if cls.producer == service} == expected
    assert len(EVENT_TYPES) == len(ALL_EVENTS)
    assert event_class("flightdeck.deployment.finished.v1") is DeploymentFinished
    assert event_class("flightdeck.nothing.v1") is None


def test_deployment_finished_carries_the_dora_fields() -> None:
    fields = set(DeploymentFinished.model_fields)
    assert {
        "deployment_id",
        "release_id",
        "change_id",
        "service",
        "team",
        "version",
        "environment",
        "environment_tier",
        "strategy",
        "outcome",
        "is_rollback",
        "is_unplanned",
        "commits",
        "started_at",
        "finished_at",
        "source",
    } <= fields
    required = {
        name for name, field in DeploymentFinished.model_fields.items() if field.is_required()
    }
    assert "release_id" not in required
    assert "team" not in required
    assert "outcome" in required


@pytest.mark.parametrize("cls", ALL_EVENTS, ids=lambda cls: cls.__name__)
def test_every_type_round_trips_through_the_codec(cls: type) -> None:
    envelope = Envelope(data=example(cls))
    message = encode(envelope)
    decoded = decode(message.value, message.headers)
    assert decoded == envelope
    assert message.key == envelope.subject.encode()


def test_naive_datetimes_are_rejected() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        example(HealthCheckFailed, detected_at="2026-03-02T09:30:00")


def test_times_are_held_in_utc() -> None:
    event = example(WindowOpened, opens_at="2026-03-29T01:30:00+01:00")
    assert event.opens_at == datetime.fromisoformat("2026-03-29T00:30:00+00:00")
    assert event.opens_at.utcoffset().total_seconds() == 0


def test_unknown_enum_values_are_rejected() -> None:
    with pytest.raises(ValidationError, match="outcome"):
        example(DeploymentFinished, outcome="exploded")


def test_readers_ignore_fields_they_do_not_know() -> None:
    envelope = Envelope(data=example(HealthCheckFailed))
    message = encode(envelope)
    newer = message.value[:-1] + b', "added_in_v1_7": {"x": 1}}'
    assert decode(newer, message.headers).data == envelope.data


def test_subjects_keys_and_correlation() -> None:
    scoped = Envelope(data=example(ReleaseScoped, release_id="rel-9"))
    assert scoped.subject == "rel-9"
    assert scoped.correlation_id == "rel-9"
    window = Envelope(data=example(WindowOpened, environment="prod-eu"))
    assert window.subject == "prod-eu"
    failed = Envelope(
        data=example(
            HealthCheckFailed,
            service="api",
            environment="prod",
            release_id=None,
            deployment_id="dep-4",
        )
    )
    assert failed.subject == "api@prod"
    assert failed.correlation_id == "dep-4"
    deployment = Envelope.caused_by(
        example(DeploymentFinished, release_id=None, deployment_id="dep-7"), failed
    )
    assert deployment.causation_id == failed.id
    assert deployment.correlation_id == "dep-4"
    released = Envelope.caused_by(example(DeploymentFinished, release_id="rel-2"), failed)
    assert released.correlation_id == "rel-2"


def test_decode_explains_what_is_wrong() -> None:
    good = encode(Envelope(data=example(DeploymentFinished)))
    headers = [(k, v) for k, v in good.headers if k != "ce_id"]
    with pytest.raises(MalformedEvent, match="ce_id"):
        decode(good.value, headers)
    with pytest.raises(MalformedEvent, match="outcome"):
        decode(good.value.replace(b'"succeeded"', b'"exploded"'), good.headers)
    with pytest.raises(MalformedEvent, match="empty"):
        decode(b"", good.headers)
    foreign = [(k, b"com.example.thing.v1" if k == "ce_type" else v) for k, v in good.headers]
    with pytest.raises(UnknownEventType):
        decode(good.value, foreign)


def test_unknown_types_can_be_kept_with_their_data_as_received() -> None:
    good = encode(Envelope(data=example(DeploymentFinished)))

    def typed(ce_type: bytes) -> list[tuple[str, bytes]]:
        return [(k, ce_type if k == "ce_type" else v) for k, v in good.headers]

    value = b'{"thing": {"nested": [1, 2]}, "n": 3}'
    kept = decode(value, typed(b"com.example.thing.v1"), keep_unknown=True)
    assert kept.type == "com.example.thing.v1"
    assert kept.data.model_dump(mode="json") == {"thing": {"nested": [1, 2]}, "n": 3}
    assert (kept.id, kept.source, kept.subject) == (
        good.header("ce_id"),
        "/flightdeck/executor",
        good.header("ce_subject"),
    )
    with pytest.raises(MalformedEvent, match="object"):  # opaque data is still a JSON object
        decode(b"[1, 2]", typed(b"com.example.thing.v1"), keep_unknown=True)
    with pytest.raises(MalformedEvent, match="255"):
        decode(value, typed(b"x" * 256), keep_unknown=True)
    # What the log could not keep as received is malformed, not a failure of the whole batch.
    for bad in (b'{"n": [1, 18446744073709551616]}', b'{"o": {"x": -1e400}}'):
        with pytest.raises(MalformedEvent, match="64-bit"):
            decode(bad, typed(b"com.example.thing.v1"), keep_unknown=True)
    edges = b'{"n": [18446744073709551615, -9223372036854775808, true, 1.5e308]}'
    kept = decode(edges, typed(b"com.example.thing.v1"), keep_unknown=True)
    assert orjson.loads(orjson.dumps(kept.data.model_dump(mode="json"))) == orjson.loads(edges)
    known = decode(good.value, good.headers, keep_unknown=True)
    assert isinstance(known.data, DeploymentFinished)  # known types keep their model


def test_event_times_travel_in_utc() -> None:
    local = datetime.fromisoformat("2026-03-29T02:30:00+01:00")
    envelope = Envelope(data=example(HealthCheckFailed), time=local)
    message = encode(envelope)
    assert message.header("ce_time") == "2026-03-29T01:30:00Z"
    assert decode(message.value, message.headers).time.utcoffset().total_seconds() == 0


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-05:00"])
def test_times_with_no_utc_equivalent_are_invalid_not_a_crash(moment: str) -> None:
    with pytest.raises(ValidationError, match="out of range"):
        example(WindowOpened, opens_at=moment)
