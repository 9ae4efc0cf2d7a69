"""The knowledge service alone, in-process on an in-memory bus: publish events at it, read what it says."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from services.knowledge.bootstrap import build_runtime, create_app
from services.knowledge.search.replica import SearchReplica, replica_of
from services.knowledge.settings import KnowledgeSettings
from shared.bus.factory import physical_topics
from shared.bus.memory import InMemoryBus
from shared.events.catalogue import Event, parse
from shared.events.envelope import from_kafka
from shared.events.topics import KNOWLEDGE
from shared.runtime import ServiceRuntime
from tests.conftest import wait_until
from tests.factories import ADMIN, service_settings


@dataclass
class Knowledge:
    bus: Any  # InMemoryBus in the unit tier, the runtime's own KafkaBus on the real stack
    runtime: ServiceRuntime
    client: httpx.AsyncClient

    @property
    def replica(self) -> SearchReplica:
        return replica_of(self.runtime.database)

    async def deliver(self, *events: Event) -> None:
        """Publish events as their producers would and wait until knowledge has handled them."""
        for event in events:
            await self.bus.publish(event.topic.name, [event.to_cloudevent()])
        await self.bus.wait_idle()

    async def published(self, event_type: type[Event] | None = None) -> list[Any]:
        """Every event knowledge has published so far (flushing its outbox first), optionally of one type."""
        # Waiting for the relay (not flushing beside it) so no event is published twice by two publishers.
        await wait_until(self._outbox_empty, timeout=60)
        events = [parse(from_kafka(r.value, r.headers)) for r in self.bus.records(KNOWLEDGE.name)]
        return [e for e in events if event_type is None or isinstance(e, event_type)]

    async def _outbox_empty(self) -> bool:
        return await self.runtime.relay.pending() == 0

    async def count(self, model: Any) -> int:
        async with self.runtime.database.session() as session:
            return int(await session.scalar(select(func.count()).select_from(model)) or 0)

    async def create_articles(self, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        created = []
        for request in requests:
            response = await self.client.post("/v1/articles", json=request)
            assert response.status_code == 201, response.text
            created.append(response.json())
        return created


async def start_knowledge(
    data_dir: Path,
    bus: InMemoryBus | None = None,
    *,
    bus_kind: str = "memory",
    topic_prefix: str = "",
    **overrides: Any,
) -> Knowledge:
    """Knowledge alone; on the in-memory bus (given or new), or on Kafka with `bus_kind="kafka"`."""
    settings = service_settings(
        "knowledge", data_dir=data_dir, bus=bus_kind, kafka_topic_prefix=topic_prefix, **overrides
    )
    assert isinstance(settings, KnowledgeSettings)
    if bus_kind == "memory" and bus is None:
        bus = InMemoryBus(physical_topics(settings))
    runtime = build_runtime(settings, bus=bus)
    await runtime.start()
    app = create_app(runtime, manage_runtime=False)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://knowledge", headers=ADMIN)
    return Knowledge(runtime.bus, runtime, client)


async def stop_knowledge(knowledge: Knowledge) -> None:
    await knowledge.client.aclose()
    await knowledge.runtime.stop()


@pytest.fixture
async def knowledge(tmp_path: Path) -> AsyncIterator[Knowledge]:
    started = await start_knowledge(tmp_path)
    yield started
    await stop_knowledge(started)
    await started.bus.stop()
