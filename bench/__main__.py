"""`python -m bench [name ...]`: run benchmarks (modules `bench/bench_*.py` exposing
`async def run(bench) -> Report`) and print one JSON document."""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import pkgutil
import sys
import tempfile
from pathlib import Path

from bench.harness import bench_resources


def _available() -> list[str]:
    here = Path(__file__).parent
    return sorted(
        m.name.removeprefix("bench_")
        for m in pkgutil.iter_modules([str(here)])
        if m.name.startswith("bench_")
    )


async def main(names: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    chosen = names or _available()
    unknown = set(chosen) - set(_available())
    if unknown:
        names_known = ", ".join(_available())
        print(f"unknown: {', '.join(sorted(unknown))}; available: {names_known}", file=sys.stderr)
        return 2
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        async with bench_resources(Path(tmp)) as bench:
            for name in chosen:
                module = importlib.import_module(f"bench.bench_{name}")
                print(f"running {name} on {bench.backend}…", file=sys.stderr, flush=True)
                report = await module.run(bench)
                results[report.name] = report.as_dict()
            backend = bench.backend
    document = {"database": backend, "benchmarks": results}
    print(json.dumps(document, indent=2))
    return 0 if all(all(r["met"].values()) for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
