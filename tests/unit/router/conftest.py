"""The router alone, in-process, on SQLite and the in-memory bus, driven through its ASGI app."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.router import bootstrap
from services.router.api.deps import RouterComponents
from services.router.routing.sla import SlaMonitor
from services.router.tickets.models import Ticket
from shared.bus.factory import physical_topics
from shared.bus.memory import InMemoryBus
from shared.events.catalogue import Event
from shared.events.envelope import CloudEvent, from_kafka
from shared.runtime import ServiceRuntime
from tests.factories import ADMIN, agent_request, service_settings


@dataclass
class RouterHarness:
    runtime: ServiceRuntime
    bus: InMemoryBus
    client: httpx.AsyncClient

    @property
    def components(self) -> RouterComponents:
        components: RouterComponents = self.runtime.extensions["router"]
        return components

    async def post(self, path: str, body: Any, **headers: str) -> httpx.Response:
        return await self.client.post(path, json=body, headers=headers)

    async def agent(self, **overrides: Any) -> dict[str, Any]:
        response = await self.post("/v1/agents", agent_request(**overrides))
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    async def make_overdue(self, ticket_id: str) -> None:
        """Move a ticket's first-response due time a minute into the past, for the SLA sweep to find."""
        async with self.runtime.database.session() as session:
            ticket = await session.get(Ticket, uuid.UUID(ticket_id))
            assert ticket is not None
            ticket.first_response_due_at = datetime.now(UTC) - timedelta(minutes=1)
            await session.commit()

    def sla_monitor(self) -> SlaMonitor:
        """The SLA sweep over this router (call its `sweep()`; the background loop does not run in tests)."""
        components = self.components
        return SlaMonitor(database=self.runtime.database, settings=components.settings, metrics=components.metrics)

    async def key(self, *scopes: str, agent_id: str | None = None, rate: int | None = None) -> dict[str, str]:
        body: dict[str, Any] = {"name": "test key", "scopes": list(scopes), "agent_id": agent_id}
        if rate is not None:
            body["rate_limit_per_minute"] = rate
        response = await self.post("/v1/api-keys", body)
        assert response.status_code == 201, response.text
        return {"Authorization": f"Bearer {response.json()['key']}"}

    async def published(self, event_type: str) -> list[CloudEvent]:
        """Every event of a type the router has published so far (after flushing its outbox)."""
        await self.runtime.relay.flush(timeout=60)
        envelopes = [
            from_kafka(record.value, record.headers) for topic in self.bus._logs for record in self.bus.records(topic)
        ]
        return [e for e in envelopes if e.type == event_type]

    async def deliver(self, *events: Event) -> None:
        """Publish other services' events to the router's consumer group and wait until handled."""
        for event in events:
            await self.bus.publish(event.topic.name, [event.to_cloudevent()])
        await self.bus.wait_idle()


@pytest.fixture
async def router(tmp_path: Path) -> AsyncIterator[RouterHarness]:
    async with running_router(tmp_path) as harness:
        yield harness


@contextlib.asynccontextmanager
async def running_router(tmp_path: Path, **overrides: Any) -> AsyncIterator[RouterHarness]:
    """The router in process on the in-memory bus, driven through its ASGI app with the admin key;
    `overrides`: router settings an operator would set (sealing, auto-resolution, feedback intents)."""
    settings = service_settings("router", data_dir=tmp_path, sla_check_seconds=3600, **overrides)
    bus = InMemoryBus(physical_topics(settings))
    runtime = bootstrap.build_runtime(settings, bus=bus)  # type: ignore[arg-type]
    await runtime.start()
    app = bootstrap.create_app(runtime, manage_runtime=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://router", headers=ADMIN
    ) as client:
        yield RouterHarness(runtime, bus, client)
    await runtime.stop()
    await bus.stop()


OpenTicket = Callable[..., Awaitable[dict[str, Any]]]
