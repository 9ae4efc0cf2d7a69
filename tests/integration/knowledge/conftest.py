"""Knowledge on the real stack: its own fresh PostgreSQL database, Kafka under a private topic prefix."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from shared.bus.factory import make_bus
from shared.bus.port import MessageBus
from tests.factories import service_settings
from tests.stack import KAFKA
from tests.unit.knowledge.conftest import Knowledge, start_knowledge, stop_knowledge


@pytest.fixture
async def knowledge_on_stack(tmp_path: Path, pg_url: str, topic_prefix: str) -> AsyncIterator[Knowledge]:
    started = await start_knowledge(
        tmp_path,
        bus=None,
        database_url=pg_url,
        bus_kind="kafka",
        topic_prefix=topic_prefix,
    )
    yield started
    await stop_knowledge(started)


@pytest.fixture
async def producer(tmp_path: Path, topic_prefix: str) -> AsyncIterator[MessageBus]:
    """A bus for playing the router and the notifier: it publishes what they would."""
    settings = service_settings(
        "router", data_dir=tmp_path, bus="kafka", kafka_topic_prefix=topic_prefix, kafka_bootstrap_servers=KAFKA
    )
    bus = make_bus(settings)
    await bus.start()
    yield bus
    await bus.stop()
