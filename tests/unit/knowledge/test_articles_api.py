"""Articles over HTTP: versions, what readers see, events, optimistic concurrency, idempotent writes."""

from __future__ import annotations

import uuid

import pytest

from services.knowledge.articles.models import Article, ArticleVersion
from shared.events.catalogue import ArticleArchived, ArticlePublished, ArticleUpdated
from shared.messaging.tables import outbox
from tests.knowledge_factories import article_request
from tests.unit.knowledge.conftest import Knowledge


async def test_a_published_article_can_be_read_back_and_is_announced(knowledge: Knowledge) -> None:
    response = await knowledge.client.post("/v1/articles", json=article_request())
    assert response.status_code == 201
    article = response.json()
    assert response.headers["location"] == f"/v1/articles/{article['id']}"
    assert (article["status"], article["version"], article["published_version"]) == ("published", 1, 1)
    assert (await knowledge.client.get(f"/v1/articles/{article['id']}")).json() == article
    [published] = await knowledge.published(ArticlePublished)
    assert (str(published.article_id), published.article_version) == (article["id"], 1)
    assert [e.status for e in await knowledge.published(ArticleUpdated)] == ["published"]


async def test_readers_see_the_published_version_while_a_newer_draft_waits(knowledge: Knowledge) -> None:
    [article] = await knowledge.create_articles([article_request()])
    response = await knowledge.client.patch(
        f"/v1/articles/{article['id']}", json={"version": 1, "title": "Draft title", "status": "draft"}
    )
    assert response.status_code == 200
    shown = (await knowledge.client.get(f"/v1/articles/{article['id']}")).json()
    assert (shown["version"], shown["latest_version"], shown["title"]) == (1, 2, article["title"])
    publish = await knowledge.client.patch(f"/v1/articles/{article['id']}", json={"version": 2, "status": "published"})
    assert (publish.json()["version"], publish.json()["title"]) == (3, "Draft title")


async def test_every_edit_is_a_new_version_and_the_history_is_kept(knowledge: Knowledge) -> None:
    [article] = await knowledge.create_articles([article_request()])
    for version, title in ((1, "Second"), (2, "Third")):
        response = await knowledge.client.patch(
            f"/v1/articles/{article['id']}", json={"version": version, "title": title}
        )
        assert response.status_code == 200
    versions = (await knowledge.client.get(f"/v1/articles/{article['id']}/versions")).json()["versions"]
    assert [(v["version"], v["title"]) for v in versions] == [(1, article["title"]), (2, "Second"), (3, "Third")]
    assert [e.article_version for e in await knowledge.published(ArticlePublished)] == [1, 2, 3]


async def test_an_edit_that_changes_nothing_makes_no_version(knowledge: Knowledge) -> None:
    [article] = await knowledge.create_articles([article_request()])
    response = await knowledge.client.patch(
        f"/v1/articles/{article['id']}", json={"version": 1, "title": article["title"]}
    )
    assert response.json()["latest_version"] == 1
    assert await knowledge.count(ArticleVersion) == 1


async def test_an_edit_of_a_stale_version_is_a_409_and_writes_nothing(knowledge: Knowledge) -> None:
    [article] = await knowledge.create_articles([article_request()])
    await knowledge.client.patch(f"/v1/articles/{article['id']}", json={"version": 1, "title": "Someone else"})
    events_before = await knowledge.count(outbox)
    response = await knowledge.client.patch(f"/v1/articles/{article['id']}", json={"version": 1, "title": "Mine"})
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/stale-version")
    assert response.json()["current_version"] == 2
    assert await knowledge.count(ArticleVersion) == 2
    assert await knowledge.count(outbox) == events_before


async def test_an_archived_article_cannot_be_edited(knowledge: Knowledge) -> None:
    [article] = await knowledge.create_articles([article_request()])
    archived = await knowledge.client.patch(f"/v1/articles/{article['id']}", json={"version": 1, "status": "archived"})
    assert archived.json()["status"] == "archived"
    [event] = await knowledge.published(ArticleArchived)
    assert event.article_version == 2
    response = await knowledge.client.patch(f"/v1/articles/{article['id']}", json={"version": 2, "title": "Revived"})
    assert response.status_code == 409
    assert response.json()["type"].endswith("/article-archived")
    assert await knowledge.count(ArticleVersion) == 2


async def test_an_unknown_article_is_a_404_problem(knowledge: Knowledge) -> None:
    missing = uuid.uuid4()
    for response in (
        await knowledge.client.get(f"/v1/articles/{missing}"),
        await knowledge.client.get(f"/v1/articles/{missing}/versions"),
        await knowledge.client.patch(f"/v1/articles/{missing}", json={"version": 1, "title": "x"}),
    ):
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("field", ["title", "body", "tags", "products", "locale", "status"])
async def test_a_null_for_a_field_an_article_needs_is_a_422_and_the_draft_stays_whole(
    knowledge: Knowledge, field: str
) -> None:
    [draft] = await knowledge.create_articles([article_request(status="draft")])
    events_before = await knowledge.count(outbox)
    response = await knowledge.client.patch(f"/v1/articles/{draft['id']}", json={"version": 1, field: None})
    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == [f"body.{field}"]
    assert (await knowledge.count(ArticleVersion), await knowledge.count(outbox)) == (1, events_before)
    assert (await knowledge.client.get(f"/v1/articles/{draft['id']}/versions")).status_code == 200
    published = await knowledge.client.patch(f"/v1/articles/{draft['id']}", json={"version": 1, "status": "published"})
    assert published.json()["status"] == "published"


@pytest.mark.parametrize("version", [0, 2**31, 2**63, 2**64])
async def test_a_version_outside_what_can_exist_is_a_422_naming_it(knowledge: Knowledge, version: int) -> None:
    [article] = await knowledge.create_articles([article_request()])
    response = await knowledge.client.patch(f"/v1/articles/{article['id']}", json={"version": version, "title": "x"})
    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == ["body.version"]
    assert await knowledge.count(ArticleVersion) == 1


async def test_a_retried_create_with_the_same_key_makes_one_article(knowledge: Knowledge) -> None:
    headers = {"Idempotency-Key": "author-7-article-1"}
    first = await knowledge.client.post("/v1/articles", json=article_request(), headers=headers)
    second = await knowledge.client.post("/v1/articles", json=article_request(), headers=headers)
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert await knowledge.count(Article) == 1
    assert len(await knowledge.published(ArticlePublished)) == 1


async def test_articles_are_listed_in_pages_that_never_repeat(knowledge: Knowledge) -> None:
    created = await knowledge.create_articles([article_request(title=f"Article {n}") for n in range(5)])
    seen, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await knowledge.client.get("/v1/articles", params=params)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [article["id"] for article in created]
    drafts = (await knowledge.client.get("/v1/articles", params={"status": "draft"})).json()
    assert drafts["items"] == []
