"""The knowledge event flows on real Kafka and PostgreSQL, with the timing a first agent depends on."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from services.knowledge.articles.models import Article, ArticleVersion
from services.knowledge.search.models import SearchChange
from shared.bus.port import MessageBus
from shared.events.catalogue import Event, KnowledgeSuggested, KnownIssueUpdated, parse
from shared.events.envelope import from_kafka
from shared.events.topics import KNOWLEDGE
from tests.conftest import wait_until
from tests.factories import ticket_opened
from tests.knowledge_factories import corpus_requests, problem_detected, problem_resolved
from tests.stack import read_topic
from tests.unit.knowledge.conftest import Knowledge, start_knowledge, stop_knowledge

pytestmark = pytest.mark.integration


async def publish(producer: MessageBus, prefix: str, *events: Event) -> None:
    for event in events:
        await producer.publish(prefix + event.topic.name, [event.to_cloudevent()])


async def knowledge_events(prefix: str, kind: type[Event]) -> list[Any]:
    records = await read_topic(prefix + KNOWLEDGE.name)
    return [e for e in (parse(from_kafka(r.value, r.headers)) for r in records) if isinstance(e, kind)]


async def suggested(client: httpx.AsyncClient, ticket_id: object) -> dict[str, Any] | None:
    response = await client.get(f"/v1/tickets/{ticket_id}/suggestions")
    body: dict[str, Any] = response.json()
    return body if response.status_code == 200 and body["computed_at"] else None


async def test_an_opened_ticket_is_suggested_articles_on_kafka_within_a_second(
    knowledge_on_stack: Knowledge, producer: MessageBus, topic_prefix: str
) -> None:
    articles = await knowledge_on_stack.create_articles(corpus_requests())
    await publish(producer, topic_prefix, ticket_opened(subject="warm-up", description="first poll"))
    ticket = ticket_opened(subject="Forgot my password", description="I cannot sign in any more")
    started = time.perf_counter()
    await publish(producer, topic_prefix, ticket)
    await wait_until(lambda: suggested(knowledge_on_stack.client, ticket.ticket_id), timeout=60, every=0.005)
    elapsed = time.perf_counter() - started
    events = await wait_until(lambda: _suggestions_for(topic_prefix, ticket.ticket_id), timeout=60)
    assert str(events[0].articles[0].article_id) == articles[1]["id"]
    assert elapsed < 1.0, f"suggestion took {elapsed:.3f}s"


async def _suggestions_for(prefix: str, ticket_id: object) -> list[Any]:
    return [e for e in await knowledge_events(prefix, KnowledgeSuggested) if e.ticket_id == ticket_id]


async def test_a_detected_problem_is_drafted_as_a_known_issue_and_resolved_to_fix_available(
    knowledge_on_stack: Knowledge, producer: MessageBus, topic_prefix: str
) -> None:
    # A draft shows only the words three customers' reports share (known_issues/drafting.py).
    reports = [
        "My card payment was declined at the checkout since the update",
        "Card payment declined when paying online at checkout",
        "The checkout says my card payment is declined",
    ]
    problem = problem_detected(representative_reports=reports)
    await publish(producer, topic_prefix, problem)
    [drafted] = await wait_until(lambda: _issue_updates(topic_prefix, 1), timeout=20)
    assert (drafted.problem_id, drafted.status, drafted.revision) == (problem.problem_id, "investigating", 1)
    ticket = ticket_opened(subject="Card declined", description="My card payment is declined at checkout")
    await publish(producer, topic_prefix, ticket)
    suggestion = await wait_until(lambda: suggested(knowledge_on_stack.client, ticket.ticket_id), timeout=20)
    assert suggestion["known_issue"]["known_issue_id"] == str(drafted.known_issue_id)
    await publish(producer, topic_prefix, problem_resolved(problem.problem_id))
    _, fixed = await wait_until(lambda: _issue_updates(topic_prefix, 2), timeout=20)
    assert (fixed.status, fixed.revision, fixed.fix_version) == ("fix_available", 2, "4.2.1")
    issue = (await knowledge_on_stack.client.get(f"/v1/known-issues/{drafted.known_issue_id}")).json()
    assert issue["status"] == "fix_available"


async def _issue_updates(prefix: str, count: int) -> list[Any]:
    updates = await knowledge_events(prefix, KnownIssueUpdated)
    return updates if len(updates) >= count else []


async def test_the_same_articles_rank_identically_on_sqlite_and_postgresql(
    knowledge_on_stack: Knowledge, tmp_path: Path
) -> None:
    embedded = await start_knowledge(tmp_path / "sqlite", search_refresh_ms=0)
    try:
        await embedded.create_articles(corpus_requests() * 3)  # repeats: equal scores, ordered by id
        for article in (await embedded.client.get("/v1/articles", params={"limit": 100})).json()["items"][:4]:
            await embedded.client.patch(f"/v1/articles/{article['id']}", json={"version": 1, "title": "Card help"})
        await _copy_articles(embedded, knowledge_on_stack)
        for q in ("card declined funds", "pasword resett", "order address", "card help", "app login code", "pdf"):
            on_sqlite = await _ranking(embedded, q)
            assert on_sqlite
            assert await _ranking(knowledge_on_stack, q) == on_sqlite
    finally:
        await stop_knowledge(embedded)
        await embedded.bus.stop()


async def _ranking(knowledge: Knowledge, q: str) -> list[tuple[str, float]]:
    response = await knowledge.client.get("/v1/search", params={"q": q, "limit": 50})
    return [(hit["id"], hit["score"]) for hit in response.json()["results"]]


async def _copy_articles(source: Knowledge, target: Knowledge) -> None:
    """The same rows, ids included, in the other database (as a migration between them would)."""
    async with source.runtime.database.session() as session:
        articles = list((await session.scalars(select(Article))).all())
        versions = list((await session.scalars(select(ArticleVersion))).all())
    async with target.runtime.database.session() as session:
        for row in [*articles, *versions]:
            await session.merge(row)
            await session.flush()
        for article in articles:
            session.add(SearchChange(entity="article", entity_id=article.id, changed_at=article.updated_at))
        await session.commit()
    target.replica.invalidate()
