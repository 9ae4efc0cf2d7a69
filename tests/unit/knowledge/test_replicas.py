"""Several replicas over one database: each keeps its own index current from the change log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.knowledge_factories import article_request, corpus_requests
from tests.unit.knowledge.conftest import Knowledge, start_knowledge, stop_knowledge


@pytest.fixture
async def replicas(tmp_path: Path) -> AsyncIterator[list[Knowledge]]:
    started = [await start_knowledge(tmp_path, search_refresh_ms=0) for _ in range(2)]
    yield started
    for replica in started:
        await stop_knowledge(replica)
        await replica.bus.stop()


async def titles(replica: Knowledge, q: str) -> list[str]:
    response = await replica.client.get("/v1/search", params={"q": q, "limit": 20})
    return [hit["title"] for hit in response.json()["results"]]


async def ranking(replica: Knowledge, q: str) -> list[tuple[Any, Any]]:
    response = await replica.client.get("/v1/search", params={"q": q, "limit": 20})
    return [(hit["id"], hit["score"]) for hit in response.json()["results"]]


async def test_an_article_written_on_one_replica_is_found_on_the_other(replicas: list[Knowledge]) -> None:
    first, second = replicas
    assert await titles(second, "lost card") == []
    [article] = await first.create_articles([article_request(title="Replace a lost card")])
    assert await titles(second, "lost card") == ["Replace a lost card"]
    await second.client.patch(f"/v1/articles/{article['id']}", json={"version": 1, "status": "archived"})
    assert await titles(first, "lost card") == []


async def test_feedback_given_on_one_replica_ranks_on_the_other(replicas: list[Knowledge]) -> None:
    first, second = replicas
    articles = await first.create_articles(corpus_requests())
    query = "proof of account history for my landlord"
    response = await first.client.post(
        f"/v1/articles/{articles[3]['id']}/feedback", json={"outcome": "resolved", "query": query}
    )
    assert response.status_code == 201
    assert (await titles(second, query))[0] == articles[3]["title"]


async def test_a_replica_started_later_ranks_exactly_like_one_that_saw_every_change(
    replicas: list[Knowledge], tmp_path: Path
) -> None:
    first, _ = replicas
    articles = await first.create_articles(corpus_requests())
    for article in articles[:3]:
        await first.client.patch(
            f"/v1/articles/{article['id']}", json={"version": 1, "body": article["body"] + " More."}
        )
    await first.client.patch(f"/v1/articles/{articles[4]['id']}", json={"version": 1, "status": "archived"})
    late = await start_knowledge(tmp_path, search_refresh_ms=0)
    try:
        for q in ("card declined funds", "pasword", "order address refund", "app login code"):
            assert await ranking(late, q) == await ranking(first, q)
    finally:
        await stop_knowledge(late)
        await late.bus.stop()
