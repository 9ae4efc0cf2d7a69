"""Desktop webhooks on real Kafka and PostgreSQL: two notifier replicas in one group, an assignment that
arrives three times (a redelivery and a second publication), and one signed delivery per subscription."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from services.notifier.bootstrap import build_runtime, create_app
from services.notifier.delivery.models import Delivery
from shared.bus.factory import make_bus
from shared.messaging.tables import inbox
from shared.runtime import ServiceRuntime
from tests.conftest import wait_until
from tests.factories import ADMIN
from tests.notifier_factories import fast_settings
from tests.stack import KAFKA
from tests.unit.notifier.desktop_events import assigned, registered
from tests.unit.notifier.receivers import webhook_receiver

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(tmp_path: Path, pg_url: str, topic_prefix: str) -> Any:
    return fast_settings(
        tmp_path,
        bus="kafka",
        kafka_bootstrap_servers=KAFKA,
        kafka_topic_prefix=topic_prefix,
        database_url=pg_url,
        detection_encoder="none",
    )


@pytest.fixture
async def replicas(settings: Any) -> AsyncIterator[list[ServiceRuntime]]:
    running = [build_runtime(settings), build_runtime(settings)]
    for runtime in running:
        await runtime.start()
    yield running
    for runtime in running:
        await runtime.stop()


async def test_an_assignment_arriving_three_times_is_one_signed_delivery_per_subscription(
    replicas: list[ServiceRuntime], settings: Any
) -> None:
    grace = uuid.uuid4()
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(replicas[0], manage_runtime=False)),
        base_url="http://notifier",
        headers=ADMIN,
    )
    producer = make_bus(settings)
    await producer.start()
    try:
        async with webhook_receiver() as agents_receiver, webhook_receiver() as teams_receiver:
            audiences = ({"audience": "agent", "agent_id": str(grace)}, {"audience": "team", "team": "payments"})
            for audience, receiver in zip(audiences, (agents_receiver, teams_receiver), strict=True):
                body = {**audience, "url": receiver.url, "event_types": ["ticket.assigned"]}
                receiver.secret = (await client.post("/v1/desktop-webhooks", json=body)).json()["secret"]
            event = assigned(grace)
            envelope, again = event.to_cloudevent(), event.to_cloudevent()
            await producer.publish(settings.topic("firstcall.agents"), [registered(grace, "payments").to_cloudevent()])
            await wait_until(lambda: _handled(replicas[0], [], agent=True), timeout=60)
            await producer.publish(settings.topic(event.topic.name), [envelope, envelope, again])
            await wait_until(lambda: _handled(replicas[0], [envelope.id, again.id]), timeout=60)
            await wait_until(lambda: _sent(replicas[0], 2), timeout=60)
            received = agents_receiver.received + teams_receiver.received
    finally:
        await producer.stop()
        await client.aclose()
    assert await _count(replicas[0], select(func.count()).select_from(Delivery)) == 2
    assert [r.signature_ok for r in received] == [True, True]
    assert {r.json["audience"] for r in received} == {"agent", "team"}


async def _handled(runtime: ServiceRuntime, event_ids: list[str], *, agent: bool = False) -> bool:
    handled = select(func.count()).select_from(inbox).where(inbox.c.consumer_group == "notifier")
    if agent:
        return await _count(runtime, handled.where(inbox.c.event_type == "firstcall.agent.registered")) == 1
    return await _count(runtime, handled.where(inbox.c.event_id.in_(event_ids))) == len(event_ids)


async def _sent(runtime: ServiceRuntime, expected: int) -> bool:
    return (
        await _count(runtime, select(func.count()).select_from(Delivery).where(Delivery.status == "sent")) >= expected
    )


async def _count(runtime: ServiceRuntime, statement: Any) -> int:
    async with runtime.database.session() as session:
        return int(await session.scalar(statement) or 0)
