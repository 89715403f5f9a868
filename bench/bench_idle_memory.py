"""Resident memory of each idle service process (DESIGN §6: < 150 MiB), against a bare
FastAPI app under uvicorn started the same way."""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.harness import Bench, Report
from flightdeck.cli.registry import all_services
from flightdeck.events.embedded import free_port
from flightdeck.kit.migrations import upgrade

BARE_APP = """
import sys, fastapi, uvicorn
app = fastapi.FastAPI()
@app.get("/readyz")
def ready(): return {"status": "ready"}
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def _settled_rss(command: list[str], env: dict[str, str], port: int) -> float:
    process = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient() as client:
            while time.monotonic() < deadline:
                try:
                    if (
                        await client.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                    ).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
            else:
                raise RuntimeError(f"{command} never became ready")
        await asyncio.sleep(3)  # idle: relay polling, consumer fetching
        return _rss_mib(process.pid)
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 15)


async def run(bench: Bench) -> Report:
    report = Report("idle_memory")
    port = free_port()
    report.baselines["bare_fastapi_rss_mib"] = await _settled_rss(
        [sys.executable, "-c", BARE_APP, str(port)], dict(os.environ), port
    )
    with tempfile.TemporaryDirectory() as var:
        for entry in all_services():
            port = free_port()
            prefix = f"FLIGHTDECK_{entry.name.upper()}_"
            env = {
                **os.environ,
                "FLIGHTDECK_VAR_DIR": var,
                "FLIGHTDECK_KAFKA_BOOTSTRAP_SERVERS": bench.broker.bootstrap_servers,
                f"{prefix}PORT": str(port),
            }
            await upgrade(entry.directory, f"sqlite+aiosqlite:///{var}/{entry.name}.db")
            command = [sys.executable, "-m", "flightdeck.cli.main", "serve", entry.name]
            rss = await _settled_rss(command, env, port)
            report.figures[f"{entry.name}_rss_mib"] = rss
            report.ratios[f"{entry.name}_vs_bare_fastapi"] = (
                rss / report.baselines["bare_fastapi_rss_mib"]
            )
            report.target(f"{entry.name}_rss_mib", "< 150 MiB idle", rss < 150)
    return report
