"""Bulk import from JSON lines: idempotent on external id, all lines or none."""

from __future__ import annotations

from typing import Any

import orjson

from services.knowledge.articles.models import Article, ArticleVersion
from shared.messaging.tables import outbox
from tests.knowledge_factories import corpus_requests
from tests.unit.knowledge.conftest import Knowledge

NDJSON = {"content-type": "application/x-ndjson"}


def lines(articles: list[dict[str, Any]]) -> bytes:
    return b"\n".join(orjson.dumps(article) for article in articles) + b"\n"


def export(count: int = 3) -> list[dict[str, Any]]:
    return [request | {"external_id": f"zendesk:{n}"} for n, request in enumerate(corpus_requests()[:count])]


async def test_an_import_creates_published_articles_that_search_finds(knowledge: Knowledge) -> None:
    response = await knowledge.client.post("/v1/articles/import", content=lines(export()), headers=NDJSON)
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["created"], report["updated"], report["unchanged"]) == (3, 0, 0)
    assert [a["external_id"] for a in report["articles"]] == ["zendesk:0", "zendesk:1", "zendesk:2"]
    hits = (await knowledge.client.get("/v1/search", params={"q": "forgotten password"})).json()["results"]
    assert hits[0]["id"] == report["articles"][1]["article_id"]


async def test_importing_the_same_export_again_changes_nothing(knowledge: Knowledge) -> None:
    await knowledge.client.post("/v1/articles/import", content=lines(export()), headers=NDJSON)
    events = await knowledge.count(outbox)
    again = (await knowledge.client.post("/v1/articles/import", content=lines(export()), headers=NDJSON)).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 3)
    assert await knowledge.count(Article) == 3
    assert await knowledge.count(outbox) == events


async def test_a_changed_line_becomes_a_new_version(knowledge: Knowledge) -> None:
    await knowledge.client.post("/v1/articles/import", content=lines(export()), headers=NDJSON)
    changed = export()
    changed[0]["body"] = "A new answer."
    report = (await knowledge.client.post("/v1/articles/import", content=lines(changed), headers=NDJSON)).json()
    assert (report["created"], report["updated"], report["unchanged"]) == (0, 1, 2)
    assert report["articles"][0]["version"] == 2
    assert await knowledge.count(ArticleVersion) == 4


async def test_one_bad_line_imports_nothing_and_names_the_line_and_field(knowledge: Knowledge) -> None:
    bad = export()
    bad[1]["title"] = ""
    payload = lines(bad) + b"{not json\n"
    response = await knowledge.client.post("/v1/articles/import", content=payload, headers=NDJSON)
    assert response.status_code == 422
    fields = [error["field"] for error in response.json()["errors"]]
    assert "body.line[2].title" in fields
    assert "body.line[4]" in fields
    assert await knowledge.count(Article) == 0
    assert await knowledge.count(outbox) == 0


async def test_a_repeated_external_id_in_one_file_is_refused(knowledge: Knowledge) -> None:
    twice = export(1) * 2
    response = await knowledge.client.post("/v1/articles/import", content=lines(twice), headers=NDJSON)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.line[2].external_id"


async def test_an_empty_import_is_refused(knowledge: Knowledge) -> None:
    response = await knowledge.client.post("/v1/articles/import", content=b"\n\n", headers=NDJSON)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body"
