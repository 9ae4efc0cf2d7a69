"""Knowledge as a process on the real stack: articles over HTTP, tickets and problems in over Kafka."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from shared.bus.factory import make_bus
from shared.bus.port import MessageBus
from shared.events.catalogue import Event, KnowledgeSuggested, parse
from shared.events.envelope import from_kafka
from shared.events.topics import KNOWLEDGE
from tests.conftest import wait_until
from tests.e2e.conftest import ServiceProcesses
from tests.factories import ADMIN, service_settings, ticket_opened
from tests.knowledge_factories import corpus_requests, problem_detected, problem_resolved
from tests.stack import KAFKA, read_topic

pytestmark = pytest.mark.e2e


@pytest.fixture
async def producer(services: ServiceProcesses, tmp_path: Any) -> AsyncIterator[MessageBus]:
    """Plays the router and the notifier on the services' topics."""
    settings = service_settings(
        "router",
        data_dir=tmp_path,
        bus="kafka",
        kafka_topic_prefix=services.topic_prefix,
        kafka_bootstrap_servers=KAFKA,
    )
    bus = make_bus(settings)
    await bus.start()
    yield bus
    await bus.stop()


async def publish(producer: MessageBus, services: ServiceProcesses, event: Event) -> None:
    await producer.publish(services.topic_prefix + event.topic.name, [event.to_cloudevent()])


async def fetch(url: str) -> Any:
    async with httpx.AsyncClient(timeout=5, headers=ADMIN) as client:
        response = await client.get(url)
    return response.json() if response.status_code == 200 else None


async def test_articles_written_over_http_are_suggested_for_a_ticket_from_kafka(
    services: ServiceProcesses, producer: MessageBus
) -> None:
    base = services.url("knowledge")
    tag = uuid.uuid4().hex[:8]
    async with httpx.AsyncClient(base_url=base, timeout=10, headers=ADMIN) as client:
        created: list[dict[str, Any]] = []
        for request in corpus_requests():
            request["title"] = f"{request['title']} {tag}"
            response = await client.post(
                "/v1/articles", json=request, headers={"Idempotency-Key": f"{tag}-{len(created)}"}
            )
            assert response.status_code == 201, response.text
            created.append(response.json())
        hits = (await client.get("/v1/search", params={"q": f"forgoten pasword {tag}"})).json()["results"]
        assert hits[0]["id"] == created[1]["id"]
    ticket = ticket_opened(subject=f"Forgot my password {tag}", description="Cannot sign in")
    await publish(producer, services, ticket)
    suggestion = await wait_until(lambda: _computed(f"{base}/v1/tickets/{ticket.ticket_id}/suggestions"), timeout=30)
    assert suggestion["articles"][0]["article_id"] == created[1]["id"]
    events = await wait_until(lambda: _suggested(services, ticket.ticket_id), timeout=30)
    assert str(events[0].articles[0].article_id) == created[1]["id"]


async def _computed(url: str) -> Any:
    body = await fetch(url)
    return body if body and body["computed_at"] else None


async def _suggested(services: ServiceProcesses, ticket_id: uuid.UUID) -> list[Any]:
    records = await read_topic(services.topic_prefix + KNOWLEDGE.name)
    events = [parse(from_kafka(r.value, r.headers)) for r in records if r.key == str(ticket_id).encode()]
    return [e for e in events if isinstance(e, KnowledgeSuggested)]


async def test_a_problem_from_kafka_becomes_a_known_issue_that_gets_its_fix(
    services: ServiceProcesses, producer: MessageBus
) -> None:
    base = services.url("knowledge")
    problem = problem_detected()
    await publish(producer, services, problem)
    issue = await wait_until(lambda: _issue_of(base, problem.problem_id, "investigating"), timeout=30)
    await publish(producer, services, problem_resolved(problem.problem_id))
    fixed = await wait_until(lambda: _issue_of(base, problem.problem_id, "fix_available"), timeout=30)
    assert fixed["id"] == issue["id"]
    assert fixed["revision"] == 2


async def _issue_of(base: str, problem_id: uuid.UUID, status: str) -> Any:
    page = await fetch(f"{base}/v1/known-issues?status={status}&limit=100")
    found = [item for item in (page or {}).get("items", []) if item["problem_id"] == str(problem_id)]
    return found[0] if found else None
