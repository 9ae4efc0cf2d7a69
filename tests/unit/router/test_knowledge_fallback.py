"""The context's fallback to the knowledge service: used when no suggestion event arrived, never fatal."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from services.router.context.knowledge_client import KnowledgeClient
from tests.factories import ticket_request
from tests.unit.router.conftest import RouterHarness


def client(handler: httpx.MockTransport) -> KnowledgeClient:
    return KnowledgeClient("http://knowledge", "key", timeout_ms=50, transport=handler)


async def test_the_fallback_returns_knowledge_suggestions() -> None:
    article = {"article_id": str(uuid.uuid4()), "title": "Declined cards", "score": 0.8}

    def answer(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == "Bearer key"
        return httpx.Response(200, json={"articles": [article], "known_issue": None})

    fetched = await client(httpx.MockTransport(answer)).suggestions(uuid.uuid4())
    assert fetched == {"articles": [article], "known_issue": None}


async def test_a_slow_or_failing_knowledge_service_gives_nothing_instead_of_an_error() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(1)
        return httpx.Response(200, json={})

    assert await client(httpx.MockTransport(slow)).suggestions(uuid.uuid4()) is None
    assert await client(httpx.MockTransport(lambda r: httpx.Response(500))).suggestions(uuid.uuid4()) is None


async def test_the_context_uses_the_fallback_until_the_event_arrives(router: RouterHarness) -> None:
    ticket = (await router.post("/v1/tickets", ticket_request())).json()
    articles = [{"article_id": str(uuid.uuid4()), "title": "From HTTP"}]
    router.components.knowledge = client(
        httpx.MockTransport(lambda r: httpx.Response(200, json={"articles": articles}))
    )
    context = (await router.client.get(f"/v1/tickets/{ticket['id']}/context")).json()
    assert context["knowledge"] == {"source": "http", "articles": articles, "known_issue": None}
