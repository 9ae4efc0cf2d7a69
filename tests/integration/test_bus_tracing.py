"""On a real broker: an event's trace context travels as CloudEvents headers and the consumer continues it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from shared import tracing
from shared.bus.kafka import KafkaBus
from shared.bus.port import Subscription
from shared.events.envelope import CloudEvent
from shared.events.topics import TICKETS, dead_letter_topic
from shared.logs import set_service
from tests.conftest import wait_until
from tests.factories import ticket_opened
from tests.integration.conftest import prefixed_topics
from tests.stack import KAFKA, read_topic

pytestmark = pytest.mark.integration


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    for service in ("router", "knowledge"):
        tracing.install(service, SimpleSpanProcessor(exporter))
    yield exporter
    for service in ("router", "knowledge"):
        tracing.uninstall(service)


@pytest.fixture
async def bus(topic_prefix: str) -> AsyncIterator[KafkaBus]:
    bus = KafkaBus(bootstrap_servers=KAFKA, client_id="it", topics=prefixed_topics(topic_prefix))
    await bus.start(wait_seconds=30)
    yield bus
    await bus.stop()


async def test_a_kafka_consumer_continues_the_trace_the_event_was_created_in(
    bus: KafkaBus, topic_prefix: str, spans: InMemorySpanExporter
) -> None:
    topic = topic_prefix + TICKETS.name
    set_service("router")
    [event] = tracing.stamp("router", [(TICKETS.name, ticket_opened().to_cloudevent())])
    await bus.publish(topic, [event])
    [record] = await wait_until(lambda: read_topic(topic), timeout=30)
    assert ("ce_traceparent", (event.traceparent or "").encode()) in list(record.headers)

    handled: list[CloudEvent] = []

    async def handler(received: CloudEvent) -> None:
        handled.append(received)

    consumer = bus.consumer(
        Subscription(
            group=topic_prefix + "knowledge",
            topics=[topic],
            handler=handler,
            dead_letter_topic=topic_prefix + dead_letter_topic("knowledge").name,
            service="knowledge",
        )
    )
    await consumer.start()
    await wait_until(lambda: _one(handled), timeout=60)
    await consumer.stop()
    [created] = [span for span in spans.get_finished_spans() if span.kind is SpanKind.PRODUCER]
    [processed] = [span for span in spans.get_finished_spans() if span.kind is SpanKind.CONSUMER]
    assert handled[0].traceparent == event.traceparent
    assert created.context is not None
    assert processed.parent is not None
    assert (processed.parent.trace_id, processed.parent.span_id) == (created.context.trace_id, created.context.span_id)
    assert processed.name == f"process {topic}"
    assert (processed.attributes or {})["messaging.system"] == "kafka"
    assert str(processed.resource.attributes["service.name"]) == "firstcall-knowledge"


async def _one(items: list[CloudEvent]) -> bool:
    return len(items) == 1
