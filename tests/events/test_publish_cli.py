"""`flightdeck publish`: one event onto its producer's topic, validated first, as a stand-in for
a producer that is not running (a CI tool's deployment, say)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from flightdeck.events.catalogue import DeploymentFinished
from flightdeck.events.kafka import KafkaSettings
from flightdeck.events.testing import TopicProbe, example
from flightdeck.events.topics import events_topic


async def _publish(kafka: KafkaSettings, *args: str) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLIGHTDECK_")}
    env["FLIGHTDECK_KAFKA_BOOTSTRAP_SERVERS"] = kafka.bootstrap_servers
    env["FLIGHTDECK_KAFKA_TOPIC_PREFIX"] = kafka.topic_prefix
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "flightdeck.cli.main",
        "publish",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    return process.returncode or 0, output.decode()


async def test_publish_validates_and_sends_the_event(kafka: KafkaSettings, tmp_path: Path) -> None:
    deployment = example(DeploymentFinished, deployment_id="dep-cli", release_id=None)
    data = tmp_path / "deployment.json"
    data.write_text(deployment.model_dump_json())
    code, output = await _publish(
        kafka, "DeploymentFinished", str(data), "--event-id", "ci-42", "--correlation-id", "dep-cli"
    )
    assert code == 0, output
    assert "published flightdeck.deployment.finished.v1 ci-42" in output
    async with TopicProbe(kafka, events_topic("executor")) as probe:
        await probe.wait_for_count(1)
        [envelope] = probe.envelopes()
    assert envelope.id == "ci-42"
    assert envelope.correlation_id == "dep-cli"
    assert envelope.source == "/flightdeck/executor"
    assert envelope.data == deployment


async def test_publish_refuses_invalid_data_and_unknown_types(
    kafka: KafkaSettings, tmp_path: Path
) -> None:
    data = tmp_path / "bad.json"
    data.write_text(json.dumps({"deployment_id": "dep-1", "finished_at": "2026-03-02T10:00:00"}))
    code, output = await _publish(kafka, "flightdeck.deployment.finished.v1", str(data))
    assert code == 2
    assert "no valid DeploymentFinished" in output
    assert "service" in output  # a missing field is named
    code, output = await _publish(kafka, "DeploymentExploded", str(data))
    assert code == 2
    assert "unknown event type 'DeploymentExploded'" in output
    async with TopicProbe(kafka, events_topic("executor")) as probe:
        assert await probe.poll(0.5) == []
