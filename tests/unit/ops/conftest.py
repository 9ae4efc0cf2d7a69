"""The services in-process, reached by the ops commands as over HTTP (through their ASGI apps)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from services.embedded import SERVICES, build_embedded
from services.ops.api import ServiceApi
from shared.bus.memory import InMemoryBus
from shared.runtime import ServiceRuntime
from shared.settings import DEVELOPMENT_ADMIN_KEY
from tests.factories import ADMIN, service_settings
from tests.unit.notifier.conftest import make_notifier, notifier

__all__ = ["make_notifier", "notifier"]  # the notifier alone, for `problems`


@dataclass
class Services:
    bus: InMemoryBus
    runtimes: dict[str, ServiceRuntime]
    apis: dict[str, ServiceApi]  # what the CLI calls
    clients: dict[str, httpx.AsyncClient]  # what the tests call


def api_of(name: str, app: object) -> ServiceApi:
    return ServiceApi(name, f"http://{name}", DEVELOPMENT_ADMIN_KEY, transport=httpx.ASGITransport(app=app))  # type: ignore[arg-type]


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    bus, runtimes, apps = build_embedded([service_settings(name, data_dir=tmp_path) for name in SERVICES])
    for runtime in runtimes:
        await runtime.start()
    clients = {
        rt.name: httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{rt.name}", headers=ADMIN)
        for rt, app in zip(runtimes, apps, strict=True)
    }
    apis = {rt.name: api_of(rt.name, app) for rt, app in zip(runtimes, apps, strict=True)}
    yield Services(bus, {rt.name: rt for rt in runtimes}, apis, clients)
    for client in clients.values():
        await client.aclose()
    for runtime in runtimes:
        await runtime.stop()
    await bus.stop()
