"""The notifier alone, in-process: SQLite, the in-memory bus, its delivery worker, and an HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select

from services.notifier.bootstrap import build_runtime, create_app
from services.notifier.settings import NotifierSettings
from shared.bus.factory import physical_topics
from shared.bus.memory import InMemoryBus
from shared.events.access import ApiKeyIssued
from shared.events.catalogue import Event
from shared.messaging.tables import outbox
from shared.runtime import ServiceRuntime
from shared.web.auth import hash_key, new_key
from tests.factories import ADMIN
from tests.notifier_factories import fast_settings


@dataclass
class Notifier:
    runtime: ServiceRuntime
    bus: InMemoryBus
    client: httpx.AsyncClient
    settings: NotifierSettings

    async def publish(self, *events: Event) -> None:
        """Put events on the bus as their producers would, and wait until the notifier handled them."""
        for event in events:
            await self.bus.publish(self.settings.topic(event.topic.name), [event.to_cloudevent()])
        await self.bus.wait_idle()

    async def drain_outbox(self) -> None:
        await self.runtime.relay.flush(timeout=60)

    async def api_key(self, *scopes: str) -> dict[str, str]:
        """Headers with a new key of these scopes, copied here from its ApiKeyIssued as the router would send it."""
        key_id, key = new_key()
        secret = self.settings.secret_key.get_secret_value()
        await self.publish(
            ApiKeyIssued(
                key_id=key_id,
                key_hash=hash_key(secret, key),
                label="test key",
                scopes=list(scopes),
                rate_limit_per_minute=10_000,
                issued_at=datetime.now(UTC),
            )
        )
        return {"Authorization": f"Bearer {key}"}


NotifierFactory = Callable[..., Coroutine[Any, Any, Notifier]]


@pytest.fixture
async def make_notifier(tmp_path: Path) -> AsyncIterator[NotifierFactory]:
    """Start a notifier with test settings (override any); stopped after the test."""
    started: list[Notifier] = []

    async def start(**overrides: Any) -> Notifier:
        settings = fast_settings(tmp_path, **overrides)
        bus = InMemoryBus(physical_topics(settings))
        runtime = build_runtime(settings, bus=bus)
        await runtime.start()
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(runtime, manage_runtime=False)),
            base_url="http://notifier",
            headers=ADMIN,
        )
        notifier = Notifier(runtime, bus, client, settings)
        started.append(notifier)
        return notifier

    yield start
    for notifier in started:
        await notifier.client.aclose()
        await notifier.runtime.stop()
        await notifier.bus.stop()


@pytest.fixture
async def notifier(make_notifier: NotifierFactory) -> Notifier:
    return await make_notifier()


async def staged_events(notifier: Notifier, event_type: str) -> list[dict[str, Any]]:
    """The data of every event of a type the notifier put in its outbox, oldest first."""
    async with notifier.runtime.database.session() as session:
        rows = await session.execute(
            select(outbox.c.envelope).where(outbox.c.event_type == f"firstcall.{event_type}").order_by(outbox.c.seq)
        )
        return [orjson.loads(row.envelope)["data"] for row in rows]
