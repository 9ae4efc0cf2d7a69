"""GET /v1/search over HTTP: ranked hits with snippets, pages, filters, and bad input named precisely."""

from __future__ import annotations

from typing import Any

import pytest

from tests.knowledge_factories import article_request, corpus_requests
from tests.unit.knowledge.conftest import Knowledge


@pytest.fixture
async def corpus(knowledge: Knowledge) -> list[dict[str, Any]]:
    return await knowledge.create_articles(corpus_requests())


async def search(knowledge: Knowledge, **params: Any) -> Any:
    response = await knowledge.client.get("/v1/search", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_search_ranks_the_answer_first_with_a_snippet_and_a_score(
    knowledge: Knowledge, corpus: list[dict[str, Any]]
) -> None:
    results = (await search(knowledge, q="forgot my pasword"))["results"]
    first = results[0]
    assert first["title"] == "Reset a forgotten password"
    assert "Forgot password" in first["snippet"]
    assert first["kind"] == "article"
    assert first["version"] == 1
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)


async def test_pages_are_linked_by_cursor_and_never_repeat(knowledge: Knowledge, corpus: list[dict[str, Any]]) -> None:
    everything = [r["id"] for r in (await search(knowledge, q="card app account order", limit=50))["results"]]
    seen, cursor = [], None
    while True:
        page = await search(knowledge, q="card app account order", limit=3, **({"cursor": cursor} if cursor else {}))
        seen += [r["id"] for r in page["results"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == everything
    assert len(seen) > 3


async def test_filters_narrow_the_results(knowledge: Knowledge, corpus: list[dict[str, Any]]) -> None:
    shop = await search(knowledge, q="order refund card", product="shop", limit=20)
    assert shop["results"]
    assert all("shop" in r["products"] for r in shop["results"])
    login = await search(knowledge, q="code", tag=["login", "privacy"], limit=20)
    assert {r["tags"][0] for r in login["results"]} <= {"login", "privacy"}
    assert (await search(knowledge, q="card", locale="fr"))["results"] == []


async def test_a_new_article_is_searchable_at_once_and_an_archived_one_disappears(knowledge: Knowledge) -> None:
    [article] = await knowledge.create_articles([article_request(title="Replace a lost card")])
    assert (await search(knowledge, q="lost card"))["results"][0]["id"] == article["id"]
    await knowledge.client.patch(f"/v1/articles/{article['id']}", json={"version": 1, "status": "archived"})
    assert (await search(knowledge, q="lost card"))["results"] == []


async def test_a_draft_is_not_found_until_it_is_published(knowledge: Knowledge) -> None:
    [draft] = await knowledge.create_articles([article_request(title="Replace a lost card", status="draft")])
    assert (await search(knowledge, q="lost card"))["results"] == []
    await knowledge.client.patch(f"/v1/articles/{draft['id']}", json={"version": 1, "status": "published"})
    assert (await search(knowledge, q="lost card"))["results"][0]["id"] == draft["id"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "query.q"),
        ({"q": ""}, "query.q"),
        ({"q": "   "}, "query.q"),
        ({"q": "x" * 501}, "query.q"),
        ({"q": "card", "products": "shop"}, "query.products"),
        ({"q": "card", "kind": "faq"}, "query.kind"),
        ({"q": "card", "limit": 0}, "query.limit"),
        ({"q": "card", "limit": 51}, "query.limit"),
        ({"q": "card", "cursor": "not-a-cursor"}, "query.cursor"),
        ({"q": "card", "product": ["shop", "x" * 61]}, "query.product.1"),
        ({"q": "card", "tag": ["t"] * 21}, "query.tag"),
    ],
    ids=[
        "missing",
        "empty",
        "blank",
        "too-long",
        "unknown-filter",
        "unknown-kind",
        "zero-limit",
        "big-limit",
        "cursor",
        "long-facet",
        "many-facets",
    ],
)
async def test_bad_search_input_is_a_422_problem_naming_the_parameter(
    knowledge: Knowledge, params: dict[str, Any], field: str
) -> None:
    response = await knowledge.client.get("/v1/search", params=params)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [error["field"] for error in response.json()["errors"]]


async def test_a_cursor_from_another_query_is_refused(knowledge: Knowledge, corpus: list[dict[str, Any]]) -> None:
    cursor = (await search(knowledge, q="card app account", limit=1))["next_cursor"]
    response = await knowledge.client.get("/v1/search", params={"q": "password", "cursor": cursor})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "query.cursor"
