"""The three services in-process on the in-memory bus, driven through their ASGI apps."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from services.embedded import SERVICES, build_embedded
from shared.bus.memory import InMemoryBus
from shared.runtime import ServiceRuntime
from tests.factories import ADMIN, service_settings


@dataclass
class Stack:
    bus: InMemoryBus
    runtimes: dict[str, ServiceRuntime]
    clients: dict[str, httpx.AsyncClient]

    @property
    def router(self) -> httpx.AsyncClient:
        return self.clients["router"]

    @property
    def knowledge(self) -> httpx.AsyncClient:
        return self.clients["knowledge"]

    @property
    def notifier(self) -> httpx.AsyncClient:
        return self.clients["notifier"]


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    bus, runtimes, apps = build_embedded([service_settings(name, data_dir=tmp_path) for name in SERVICES])
    for runtime in runtimes:
        await runtime.start()
    clients = {
        runtime.name: httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=f"http://{runtime.name}", headers=ADMIN
        )
        for runtime, app in zip(runtimes, apps, strict=True)
    }
    yield Stack(bus, {runtime.name: runtime for runtime in runtimes}, clients)
    for client in clients.values():
        await client.aclose()
    for runtime in runtimes:
        await runtime.stop()
    await bus.stop()
