"""Suggestions for every ticket, feedback from resolutions, and KCS drafts, through the event flow."""

from __future__ import annotations

import uuid

from services.knowledge.articles.models import Article
from services.knowledge.feedback.models import ArticleFeedback
from shared.events.catalogue import ArticleDraftProposed, KnowledgeSuggested
from tests.factories import ticket_opened
from tests.knowledge_factories import corpus_requests, problem_detected, ticket_resolved, ticket_updated
from tests.unit.knowledge.conftest import Knowledge


async def test_an_opened_ticket_gets_the_best_articles_published_for_the_agent(knowledge: Knowledge) -> None:
    articles = await knowledge.create_articles(corpus_requests())
    ticket = ticket_opened(subject="Forgot my password", description="I cannot sign in, the password is wrong.")
    await knowledge.deliver(ticket)
    [suggested] = await knowledge.published(KnowledgeSuggested)
    assert suggested.ticket_id == ticket.ticket_id
    assert str(suggested.articles[0].article_id) == articles[1]["id"]
    assert suggested.articles[0].snippet
    assert suggested.known_issue is None
    stored = (await knowledge.client.get(f"/v1/tickets/{ticket.ticket_id}/suggestions")).json()
    assert stored["articles"][0]["article_id"] == articles[1]["id"]
    assert stored["computed_at"] is not None


async def test_a_ticket_delivered_twice_is_suggested_once(knowledge: Knowledge) -> None:
    await knowledge.create_articles(corpus_requests())
    ticket = ticket_opened()
    envelope = ticket.to_cloudevent()
    for _ in range(2):
        await knowledge.bus.publish(ticket.topic.name, [envelope])
    await knowledge.bus.wait_idle()
    assert len(await knowledge.published(KnowledgeSuggested)) == 1


async def test_a_ticket_whose_words_change_is_suggested_again(knowledge: Knowledge) -> None:
    articles = await knowledge.create_articles(corpus_requests())
    ticket = ticket_opened(subject="Where is my parcel", description="I want to change the delivery address")
    await knowledge.deliver(ticket, ticket_updated(ticket.ticket_id, ticket.customer_id))
    first, second = await knowledge.published(KnowledgeSuggested)
    assert str(first.articles[0].article_id) == articles[4]["id"]
    assert str(second.articles[0].article_id) == articles[5]["id"]


async def test_a_ticket_matching_a_known_issue_carries_it(knowledge: Knowledge) -> None:
    await knowledge.create_articles(corpus_requests())
    # A draft shows only the words three customers' reports share (known_issues/drafting.py).
    reports = [
        "My card payment was declined at the checkout since the update",
        "Card payment declined when paying online at checkout",
        "The checkout says my card payment is declined",
    ]
    await knowledge.deliver(problem_detected(representative_reports=reports))
    ticket = ticket_opened(subject="Card declined", description="My card payment is declined at checkout.")
    await knowledge.deliver(ticket)
    [suggested] = await knowledge.published(KnowledgeSuggested)
    assert suggested.known_issue is not None
    assert suggested.known_issue.status == "investigating"


async def test_an_unrelated_ticket_carries_no_known_issue(knowledge: Knowledge) -> None:
    await knowledge.deliver(problem_detected())
    await knowledge.deliver(ticket_opened(subject="Change my delivery address", description="Before it ships."))
    [suggested] = await knowledge.published(KnowledgeSuggested)
    assert suggested.known_issue is None


async def test_a_resolution_naming_articles_teaches_ranking_for_similar_tickets(knowledge: Knowledge) -> None:
    articles = await knowledge.create_articles(corpus_requests())
    statement = articles[3]["id"]
    words = {"subject": "Bank letter for my landlord", "description": "I need proof of my account history"}
    before = (await knowledge.client.get("/v1/search", params={"q": "proof of account history"})).json()
    first = ticket_opened(**words)
    await knowledge.deliver(first, ticket_resolved(first.ticket_id, article_ids=[uuid.UUID(statement)]))
    assert await knowledge.count(ArticleFeedback) == 1
    after = (await knowledge.client.get("/v1/search", params={"q": "proof of account history"})).json()
    assert before["results"] == [] or before["results"][0]["id"] != statement
    assert after["results"][0]["id"] == statement


async def test_a_resolution_with_a_note_and_no_article_proposes_a_draft_once(knowledge: Knowledge) -> None:
    ticket = ticket_opened(subject="App crashes when scanning a cheque", description="Since yesterday.")
    resolved = ticket_resolved(ticket.ticket_id, resolution_note="Clear the app cache, then scan again.")
    reopened_and_resolved_again = ticket_resolved(ticket.ticket_id, resolution_note="Same again.")
    await knowledge.deliver(ticket, resolved, reopened_and_resolved_again)
    [proposed] = await knowledge.published(ArticleDraftProposed)
    assert proposed.ticket_id == ticket.ticket_id
    draft = (await knowledge.client.get(f"/v1/articles/{proposed.article_id}")).json()
    assert draft["status"] == "draft"
    assert draft["title"] == "App crashes when scanning a cheque"
    assert "Clear the app cache" in draft["body"]
    assert "Since yesterday." in draft["body"]
    assert draft["source_ticket_id"] == str(ticket.ticket_id)
    assert await knowledge.count(Article) == 1
    assert (await knowledge.client.get("/v1/search", params={"q": "scanning cheque"})).json()["results"] == []


async def test_a_resolution_without_a_note_proposes_nothing(knowledge: Knowledge) -> None:
    ticket = ticket_opened()
    await knowledge.deliver(ticket, ticket_resolved(ticket.ticket_id))
    assert await knowledge.published(ArticleDraftProposed) == []
