"""`flightdeck run` (what `make run` calls) as a new user sees it: one command brings the
platform up, a second one says it is already running, Ctrl-C stops everything."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from flightdeck.events.embedded import free_port, port_in_use
from flightdeck.events.topics import SERVICES

pytestmark = pytest.mark.e2e


@pytest.fixture
def stack_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLIGHTDECK_")}
    env["FLIGHTDECK_VAR_DIR"] = str(tmp_path / "var")
    env["FLIGHTDECK_BROKER_PORT"] = str(free_port())
    for name in SERVICES:
        env[f"FLIGHTDECK_{name.upper()}_PORT"] = str(free_port())
    return env


def _start(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "flightdeck.cli.main", "run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.fixture
def stack(stack_env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    process = _start(stack_env)
    lines: list[str] = []
    deadline = time.monotonic() + 90
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        lines.append(line)
        if "Press Ctrl-C to stop everything" in line:
            break
    yield process, lines
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


def test_run_brings_every_service_to_ready(
    stack: tuple[subprocess.Popen[str], list[str]], stack_env: dict[str, str]
) -> None:
    process, lines = stack
    output = "".join(lines)
    assert "Flightdeck is running" in output, output
    var = Path(stack_env["FLIGHTDECK_VAR_DIR"])
    token = (var / "admin.token").read_text().strip()
    assert token.startswith("fd_")
    assert token not in (var / "tokens.json").read_text()
    for name in SERVICES:
        port = stack_env[f"FLIGHTDECK_{name.upper()}_PORT"]
        assert f"http://127.0.0.1:{port}" in output
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
        assert ready.status_code == 200, (name, ready.text)
        assert (var / f"{name}.db").exists()
        assert (var / "log" / f"{name}.log").exists()
    planning = stack_env["FLIGHTDECK_PLANNING_PORT"]
    authorized = httpx.get(
        f"http://127.0.0.1:{planning}/admin/dlq",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert authorized.status_code == 200
    assert httpx.get(f"http://127.0.0.1:{planning}/admin/dlq", timeout=5).status_code == 401

    second = subprocess.run(
        [sys.executable, "-m", "flightdeck.cli.main", "run"],
        env=stack_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 1
    assert second.stderr.startswith("error: Flightdeck is already running")
    assert "Traceback" not in second.stderr + second.stdout

    process.send_signal(signal.SIGINT)
    assert process.wait(30) == 0
    assert process.stdout is not None
    assert "stopped." in process.stdout.read()
    for name in SERVICES:
        assert not port_in_use(int(stack_env[f"FLIGHTDECK_{name.upper()}_PORT"]))
    assert not port_in_use(int(stack_env["FLIGHTDECK_BROKER_PORT"]))
    assert not (var / "run.pid").exists()
