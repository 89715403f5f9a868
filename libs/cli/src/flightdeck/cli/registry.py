"""The six services, loaded by name."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, cast

from fastapi import FastAPI

from flightdeck.events.topics import SERVICES
from flightdeck.kit.settings import ServiceSettings


class ServiceName(StrEnum):
    """The services, for command-line choices."""

    PLANNING = "planning"
    GOVERNANCE = "governance"
    ENVIRONMENTS = "environments"
    EXECUTOR = "executor"
    VALIDATION = "validation"
    METRICS = "metrics"


assert tuple(ServiceName) == SERVICES, "ServiceName must list every service"


@dataclass(frozen=True)
class ServiceEntry:
    """How to build, configure and migrate one service."""

    name: str

    @property
    def settings_class(self) -> type[ServiceSettings]:
        module = importlib.import_module(f"flightdeck.{self.name}.settings")
        return cast(type[ServiceSettings], getattr(module, f"{self.name.capitalize()}Settings"))

    def settings(self, **overrides: Any) -> ServiceSettings:
        """Settings from the environment, with `overrides` on top."""
        return self.settings_class(**overrides)

    @property
    def create_app(self) -> Callable[[ServiceSettings], FastAPI]:
        module = importlib.import_module(f"flightdeck.{self.name}.app")
        return cast(Callable[[ServiceSettings], FastAPI], module.create_app)

    @property
    def directory(self) -> Path:
        module = importlib.import_module(f"flightdeck.{self.name}")
        return cast(Path, module.SERVICE_DIR)


def service(name: str) -> ServiceEntry:
    """The entry of a service; ValueError for an unknown name."""
    if name not in SERVICES:
        raise ValueError(f"unknown service {name!r}; choose from {', '.join(SERVICES)}")
    return ServiceEntry(name)


def all_services() -> list[ServiceEntry]:
    """Every service, in port order."""
    return [ServiceEntry(name) for name in SERVICES]
