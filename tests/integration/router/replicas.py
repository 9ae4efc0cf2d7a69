"""Router replicas sharing one PostgreSQL database, each behind its own in-process HTTP client."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from shared.bus.factory import physical_topics
from shared.bus.memory import InMemoryBus
from shared.runtime import ServiceRuntime
from tests.factories import ADMIN, service_settings

Replica = tuple[ServiceRuntime, httpx.AsyncClient]


@asynccontextmanager
async def router_replicas(
    tmp_path: Path, pg_url: str, count: int = 2, **overrides: Any
) -> AsyncIterator[list[Replica]]:
    """`count` routers on `pg_url` (the admin key on every request), stopped on exit."""
    bootstrap = importlib.import_module("services.router.bootstrap")
    started: list[Replica] = []
    try:
        for index in range(count):
            settings = service_settings("router", data_dir=tmp_path / str(index), database_url=pg_url, **overrides)
            runtime = bootstrap.build_runtime(settings, bus=InMemoryBus(physical_topics(settings)))
            await runtime.start()
            app = bootstrap.create_app(runtime, manage_runtime=False)
            client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://router", headers=ADMIN)
            started.append((runtime, client))
        yield started
    finally:
        for runtime, client in started:
            await client.aclose()
            await runtime.stop()
