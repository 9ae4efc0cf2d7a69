"""The notifier on real Kafka and PostgreSQL: two replicas in one consumer group miss no duplicate (also
while they re-learn the embedding buckets), a redelivered event has no second effect, and each customer
is told once across replicas and a restart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from services.notifier.bootstrap import build_runtime, create_app
from services.notifier.delivery.models import Delivery
from services.notifier.detection.models import DetectionModel, ReportBucket
from services.notifier.problems.models import Problem
from services.notifier.reports.models import Report
from shared.bus.factory import make_bus
from shared.bus.port import MessageBus
from shared.events.catalogue import CustomerRegistered, Event, Identity
from shared.events.envelope import CloudEvent
from shared.events.topics import TICKETS
from shared.messaging.tables import outbox
from shared.runtime import ServiceRuntime
from tests.conftest import wait_until
from tests.factories import ADMIN
from tests.notifier_factories import fast_settings, numbered_reports, outage, report
from tests.stack import KAFKA
from tests.unit.notifier.receivers import smtp_server

pytestmark = pytest.mark.integration
Replica = tuple[ServiceRuntime, httpx.AsyncClient]


@pytest.fixture
async def stack_settings(tmp_path: Path, pg_url: str, topic_prefix: str) -> Callable[..., Any]:
    def settings(**overrides: Any) -> Any:
        return fast_settings(
            tmp_path,
            bus="kafka",
            kafka_bootstrap_servers=KAFKA,
            kafka_topic_prefix=topic_prefix,
            database_url=pg_url,
            **overrides,
        )

    return settings


@pytest.fixture
async def replicas(stack_settings: Callable[..., Any]) -> AsyncIterator[Callable[..., Coroutine[Any, Any, Replica]]]:
    """Start notifier replicas sharing one database and one consumer group."""
    running: list[Replica] = []

    async def start(**overrides: Any) -> Replica:
        runtime = build_runtime(stack_settings(**overrides))
        await runtime.start()
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(runtime, manage_runtime=False)),
            base_url="http://notifier",
            headers=ADMIN,
        )
        running.append((runtime, client))
        return runtime, client

    yield start
    for runtime, client in running:
        await client.aclose()
        await runtime.stop()


@pytest.fixture
async def producer(stack_settings: Callable[..., Any]) -> AsyncIterator[MessageBus]:
    """The router's side of the topics: a bus that publishes what the router would."""
    bus = make_bus(stack_settings())
    await bus.start()
    yield bus
    await bus.stop()


async def send(bus: MessageBus, settings: Any, *events: Event | CloudEvent) -> None:
    """Publish events (or ready envelopes, which are ticket events here) as their producer would."""
    for event in events:
        envelope = event if isinstance(event, CloudEvent) else event.to_cloudevent()
        topic = event.topic if isinstance(event, Event) else TICKETS
        await bus.publish(settings.topic(topic.name), [envelope])


async def joined_group(runtime: ServiceRuntime) -> None:
    """Wait until the replica's consumer holds partitions (the group finished rebalancing onto it)."""
    for consumer in runtime._running:
        await asyncio.wait_for(consumer.assigned.wait(), 60)  # type: ignore[attr-defined]


async def count(runtime: ServiceRuntime, statement: Any) -> int:
    async with runtime.database.session() as session:
        return int(await session.scalar(statement) or 0)


def outcome(runtime: ServiceRuntime, name: str) -> float:
    """How many ticket.opened events this replica's consumer ended with `name` (handled, duplicate)."""
    value: float = runtime.metrics.events_handled.labels("notifier", "firstcall.ticket.opened", name)._value.get()
    return value


async def test_two_replicas_in_one_group_put_every_report_of_an_outage_in_one_problem(
    replicas: Callable[..., Coroutine[Any, Any, Replica]], producer: MessageBus, stack_settings: Callable[..., Any]
) -> None:
    (first, _), (second, _) = await replicas(), await replicas()
    await joined_group(second)
    reports = outage(5) + outage(5)
    await send(producer, stack_settings(), *reports)

    async def all_placed() -> bool:
        placed = select(func.count()).select_from(Report).where(Report.cluster_id.is_not(None))
        return await count(first, placed) == len(reports)

    await wait_until(all_placed, timeout=60)
    assert outcome(first, "handled") > 0, "the first replica took part"
    assert outcome(second, "handled") > 0, "the second replica took part"
    assert await count(first, select(func.count()).select_from(Problem)) == 1
    detected = select(func.count()).select_from(outbox).where(outbox.c.event_type == "firstcall.problem.detected")
    assert await count(first, detected) == 1


async def test_two_replicas_relearning_the_embedding_buckets_keep_every_report_findable(
    replicas: Callable[..., Coroutine[Any, Any, Replica]], producer: MessageBus, stack_settings: Callable[..., Any]
) -> None:
    small_buckets = {"detection_encoder": "wordllama", "index_reports_per_bucket": 4}
    (first, client), (second, _) = await replicas(**small_buckets), await replicas(**small_buckets)
    await joined_group(second)
    reports = numbered_reports(40)
    await send(producer, stack_settings(), *reports)
    await wait_until(lambda: _stored(first, len(reports)), timeout=60)

    maintenances = [runtime.extensions["index_maintenance"] for runtime in (first, second)]
    await asyncio.gather(*(maintenance.settle() for maintenance in maintenances))
    await maintenances[0].settle()  # whatever the replica that stepped aside left

    models = select(DetectionModel.status, DetectionModel.buckets)
    async with first.database.session() as session:
        assert (await session.execute(models)).all() == [("active", 10)]
    assert await count(first, select(func.count()).select_from(ReportBucket)) == len(reports)
    paraphrase = report("Payment keeps failing when I check out", "The card is fine but paying errors.")
    await send(producer, stack_settings(), paraphrase)
    await wait_until(lambda: _stored(first, len(reports) + 1), timeout=60)
    items = (await client.get(f"/v1/tickets/{paraphrase.ticket_id}/similar")).json()["items"]
    outage_ids = {str(event.ticket_id) for event in reports if "heck" in event.subject}
    assert items[0]["ticket_id"] in outage_ids


async def _stored(runtime: ServiceRuntime, reports: int) -> bool:
    return await count(runtime, select(func.count()).select_from(Report)) == reports


async def test_a_redelivered_ticket_event_has_no_second_effect(
    replicas: Callable[..., Coroutine[Any, Any, Replica]], producer: MessageBus, stack_settings: Callable[..., Any]
) -> None:
    runtime, _ = await replicas()
    event = outage(1)[0]
    envelope = event.to_cloudevent()
    await send(producer, stack_settings(), envelope, envelope)

    async def duplicate_recognised() -> bool:
        return outcome(runtime, "duplicate") >= 1

    await wait_until(duplicate_recognised, timeout=60)
    assert outcome(runtime, "handled") == 1
    assert await count(runtime, select(func.count()).select_from(Report)) == 1


async def test_each_customer_is_told_of_the_resolution_once_across_replicas_and_a_restart(
    replicas: Callable[..., Coroutine[Any, Any, Replica]], producer: MessageBus, stack_settings: Callable[..., Any]
) -> None:
    async with smtp_server() as mailbox:
        mailbox.refuse_next = 4  # the first sends fail, so the replicas race on retries too
        overrides = {"smtp_port": mailbox.port, "delivery_max_attempts": 20}
        (first, client), (second, _) = await replicas(**overrides), await replicas(**overrides)
        reports = outage(5)
        registered = [
            CustomerRegistered(
                customer_id=r.customer_id,
                display_name=r.customer_name,
                identities=[Identity(kind="email", value=f"c{i}@example.com")],
                registered_at=r.opened_at,
            )
            for i, r in enumerate(reports)
        ]
        await send(producer, stack_settings(), *registered, *reports)

        async def problem() -> str | None:
            response = await client.get("/v1/problems")
            items = response.json()["items"]
            return items[0]["id"] if items and items[0]["customer_count"] == 5 else None

        problem_id = await wait_until(problem, timeout=60)
        body = {"resolution": "Fixed by the provider.", "fix_version": "2.4.1"}
        assert (await client.post(f"/v1/problems/{problem_id}/resolve", json=body)).status_code == 200
        await second.stop()
        await replicas(**overrides)  # a replacement replica joins while deliveries are in flight

        async def resolutions() -> list[Any] | None:
            found = [m for m in mailbox.messages if m["Subject"].startswith("Resolved")]
            return found if len(found) >= 5 else None

        await wait_until(resolutions, timeout=60)
        await wait_until(lambda: _settled(first), timeout=30)
        told = [m for m in mailbox.messages if m["Subject"].startswith("Resolved")]
    assert sorted(m["To"] for m in told) == [f"c{i}@example.com" for i in range(5)]
    assert len({m["Message-ID"] for m in told}) == 5


async def _settled(runtime: ServiceRuntime) -> bool:
    pending = select(func.count()).select_from(Delivery).where(Delivery.status.in_(("pending", "sending")))
    return await count(runtime, pending) == 0
