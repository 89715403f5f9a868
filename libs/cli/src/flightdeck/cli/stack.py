"""`flightdeck run`: the whole platform on one machine, on its embedded defaults.

Starts the embedded broker, creates the topics, migrates one SQLite database per service,
makes sure an admin token exists, starts the six services and waits until all are ready.
Ctrl-C or SIGTERM stops everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from flightdeck.cli.registry import ServiceEntry, all_services
from flightdeck.events.embedded import EmbeddedBroker, port_in_use
from flightdeck.events.kafka import KafkaSettings, broker_reachable, ensure_topics
from flightdeck.kit.auth import Role, TokenStore, create_token, write_secret
from flightdeck.kit.migrations import upgrade
from flightdeck.kit.settings import ServiceSettings


class StackError(Exception):
    """The stack cannot start; the message says why and what to do."""


@dataclass
class Child:
    entry: ServiceEntry
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def single_instance(var_dir: Path) -> Iterator[None]:
    """Refuse to start twice on one `var/` directory."""
    pidfile = var_dir / "run.pid"
    if pidfile.exists():
        text = pidfile.read_text().strip()
        if text.isdigit() and _alive(int(text)):
            raise StackError(
                f"Flightdeck is already running (pid {text}, see {pidfile}).\n"
                f"Stop it with Ctrl-C in its terminal, or: kill {text}"
            )
    var_dir.mkdir(parents=True, exist_ok=True)
    pidfile.write_text(f"{os.getpid()}\n")
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            pidfile.unlink()


def admin_token(var_dir: Path, tokens_file: Path) -> tuple[str, bool]:
    """The admin token from `var/admin.token`, created on first run (or when the one there
    was revoked); returns (token, created)."""
    path = var_dir / "admin.token"
    if path.exists():
        existing = path.read_text().strip()
        principal = TokenStore(tokens_file).authenticate(existing) if existing else None
        if principal is not None and principal.has(Role.ADMIN):
            return existing, False
    token, _ = create_token(tokens_file, "admin", [Role.ADMIN])
    write_secret(path, token + "\n")
    return token, True


class Stack:
    """The broker and service processes of one `flightdeck run`."""

    def __init__(self, var_dir: Path, broker_port: int, external_kafka: str | None) -> None:
        self.var_dir = var_dir
        self.log_dir = var_dir / "log"
        self.broker_port = broker_port
        self.external_kafka = external_kafka
        self.broker: EmbeddedBroker | None = None
        self.children: list[Child] = []

    @property
    def bootstrap(self) -> str:
        return self.external_kafka or f"127.0.0.1:{self.broker_port}"

    def settings(self, entry: ServiceEntry) -> ServiceSettings:
        """A service's settings as this stack runs it (the environment, under our var dir)."""
        return entry.settings(var_dir=self.var_dir)

    def env(self) -> dict[str, str]:
        """Environment shared by the service processes."""
        return {
            **os.environ,
            "FLIGHTDECK_KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "FLIGHTDECK_VAR_DIR": str(self.var_dir),
            "PYTHONUNBUFFERED": "1",
        }

    async def start(self) -> str:
        """Bring everything up; returns the admin token."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._check_ports()
        where = "the embedded broker" if not self.external_kafka else "Kafka"
        say(f"starting {where} on {self.bootstrap}…")
        await self._start_broker()
        await ensure_topics(
            KafkaSettings(bootstrap_servers=self.bootstrap), KafkaSettings().topics.all_topics()
        )
        say(f"migrating the service databases in {self.var_dir}…")
        for entry in all_services():
            settings = self.settings(entry)
            await upgrade(entry.directory, settings.database_url)
        settings = self.settings(all_services()[0])
        assert settings.tokens_file is not None
        token, created = admin_token(self.var_dir, settings.tokens_file)
        if created:
            say(f"created an admin token in {self.var_dir / 'admin.token'}")
        say("starting planning, governance, environments, executor, validation, metrics…")
        for entry in all_services():
            self._spawn(entry)
        await self._wait_ready(timeout=60)
        return token

    def _check_ports(self) -> None:
        busy = [
            (e.name, self.settings(e).port)
            for e in all_services()
            if port_in_use(self.settings(e).port)
        ]
        if not self.external_kafka and port_in_use(self.broker_port):
            busy.append(("broker", self.broker_port))
        if busy:
            listing = ", ".join(f"{name} {port}" for name, port in busy)
            raise StackError(
                f"ports already in use: {listing}.\n"
                "Is another Flightdeck (or Kafka) running? Stop it, or choose other ports with "
                "FLIGHTDECK_BROKER_PORT and FLIGHTDECK_<SERVICE>_PORT."
            )

    async def _start_broker(self) -> None:
        if self.external_kafka:
            if not await broker_reachable(KafkaSettings(bootstrap_servers=self.external_kafka), 5):
                raise StackError(f"Kafka at {self.external_kafka} does not answer")
            return
        self.broker = EmbeddedBroker(self.broker_port, log_path=self.log_dir / "broker.log")
        self.broker.start()
        await self.broker.wait_ready()

    def _spawn(self, entry: ServiceEntry) -> None:
        log_path = self.log_dir / f"{entry.name}.log"
        log_file = log_path.open("ab")
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "flightdeck.cli.main", "serve", entry.name],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=self.env(),
        )
        log_file.close()
        self.children.append(Child(entry, self.settings(entry).port, process, log_path))

    async def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        pending = {child.entry.name: child for child in self.children}
        async with httpx.AsyncClient(timeout=2) as client:
            while pending and time.monotonic() < deadline:
                for name, child in list(pending.items()):
                    if child.process.poll() is not None:
                        raise StackError(
                            f"{name} exited at start; its log:\n{_tail(child.log_path)}"
                        )
                    with contextlib.suppress(httpx.HTTPError):
                        response = await client.get(f"http://127.0.0.1:{child.port}/readyz")
                        if response.status_code == 200:
                            del pending[name]
                await asyncio.sleep(0.3)
        if pending:
            names = ", ".join(pending)
            raise StackError(f"not ready after {timeout:.0f}s: {names}; see {self.log_dir}/")

    async def wait(self) -> None:
        """Block until a signal arrives or a service dies."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        while not stop.is_set():
            for child in self.children:
                if child.process.poll() is not None:
                    log_tail = _tail(child.log_path)
                    print(f"\n{child.entry.name} stopped unexpectedly; its log:\n{log_tail}")
                    return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1)

    def stop(self) -> None:
        """Stop the services, then the broker."""
        for child in self.children:
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for child in self.children:
            try:
                child.process.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()
        if self.broker is not None:
            self.broker.stop()


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def banner(stack: Stack, token: str) -> str:
    """The table printed once everything is ready."""
    rows = [f"  {'service':<13} {'URL':<24} docs"]
    for child in stack.children:
        url = f"http://127.0.0.1:{child.port}"
        rows.append(f"  {child.entry.name:<13} {url:<24} {url}/docs")
    table = "\n".join(rows)
    return f"""
Flightdeck is running.

{table}

  broker        {stack.bootstrap} (Kafka protocol{", embedded" if stack.broker else ""})
  logs          {stack.log_dir}/

Call it with the admin token in {stack.var_dir / "admin.token"}:

  export FLIGHTDECK_TOKEN=$(cat {stack.var_dir / "admin.token"})
  curl -H "Authorization: Bearer $FLIGHTDECK_TOKEN" http://127.0.0.1:8101/readyz

Create tokens for people and tools with:
  uv run flightdeck token create --subject alice --role releaser

Press Ctrl-C to stop everything.
"""


async def run(var_dir: Path, broker_port: int, external_kafka: str | None) -> int:
    """Run the stack until interrupted; returns the exit code."""
    try:
        with single_instance(var_dir):
            return await _run(Stack(var_dir, broker_port, external_kafka))
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


async def _run(stack: Stack) -> int:
    started = False
    try:
        token = await stack.start()
        started = True
        print(banner(stack, token), flush=True)
        await stack.wait()
    finally:
        if started or stack.children or stack.broker is not None:
            say("stopping Flightdeck…")
        stack.stop()
        if started:
            say("stopped.")
    return 0


def say(message: str) -> None:
    """A progress line on the console."""
    print(message, flush=True)
