"""POST /v1/articles/{id}/feedback: recorded, teaches ranking, and refuses what it cannot use."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from services.knowledge.feedback.models import ArticleFeedback
from tests.factories import ticket_opened
from tests.knowledge_factories import article_request, corpus_requests
from tests.unit.knowledge.conftest import Knowledge


async def test_feedback_with_a_ticket_uses_the_tickets_words(knowledge: Knowledge) -> None:
    [article] = await knowledge.create_articles([article_request()])
    ticket = ticket_opened(subject="Card refused", description="At the shop today")
    await knowledge.deliver(ticket)
    response = await knowledge.client.post(
        f"/v1/articles/{article['id']}/feedback", json={"outcome": "helpful", "ticket_id": str(ticket.ticket_id)}
    )
    assert response.status_code == 201
    feedback = response.json()
    assert (feedback["source"], feedback["query"]) == ("agent", "Card refused\nAt the shop today")


async def test_helpful_feedback_lifts_the_article_for_the_same_question(knowledge: Knowledge) -> None:
    articles = await knowledge.create_articles(corpus_requests())
    query = "my landlord wants a bank letter"
    await knowledge.client.post(
        f"/v1/articles/{articles[3]['id']}/feedback", json={"outcome": "resolved", "query": query}
    )
    hits = (await knowledge.client.get("/v1/search", params={"q": query})).json()["results"]
    assert hits[0]["id"] == articles[3]["id"]


async def test_a_retried_feedback_with_the_same_key_counts_once(knowledge: Knowledge) -> None:
    [article] = await knowledge.create_articles([article_request()])
    for _ in range(2):
        await knowledge.client.post(
            f"/v1/articles/{article['id']}/feedback",
            json={"outcome": "not_helpful", "query": "card"},
            headers={"Idempotency-Key": "agent-3-feedback-9"},
        )
    assert await knowledge.count(ArticleFeedback) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"outcome": "great", "query": "x"}, "body.outcome"),
        ({"outcome": "helpful"}, "body"),
        ({"query": "x"}, "body.outcome"),
    ],
)
async def test_invalid_feedback_is_a_422_and_stores_nothing(
    knowledge: Knowledge, body: dict[str, Any], field: str
) -> None:
    [article] = await knowledge.create_articles([article_request()])
    response = await knowledge.client.post(f"/v1/articles/{article['id']}/feedback", json=body)
    assert response.status_code == 422
    assert field in [error["field"] for error in response.json()["errors"]]
    assert await knowledge.count(ArticleFeedback) == 0


async def test_feedback_on_an_unknown_article_is_a_404(knowledge: Knowledge) -> None:
    response = await knowledge.client.post(
        f"/v1/articles/{uuid.uuid4()}/feedback", json={"outcome": "helpful", "query": "x"}
    )
    assert response.status_code == 404
