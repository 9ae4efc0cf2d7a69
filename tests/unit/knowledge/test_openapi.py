"""Knowledge's OpenAPI document says what the service answers, with an example on every operation.

Findings of the fuzz run (tests/fuzz) held here one by one: a 409 the routes send must be in the document;
a path that names a sibling route (`/v1/articles/import`) must not be read as an article id; the import
body is documented as the JSON lines it is. The examples are what client developers copy: each one is
checked against the schema it illustrates, so none can drift from what the service accepts and answers.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from services.knowledge.articles.models import Article
from tests.knowledge_factories import article_request
from tests.openapi_documents import api_operations, conforms, examples_of, invalid_examples, resolved
from tests.unit.knowledge.conftest import Knowledge
from tests.unit.knowledge.test_known_issues import known_issue_request

NDJSON = "application/x-ndjson"


async def document_of(knowledge: Knowledge) -> dict[str, Any]:
    document: dict[str, Any] = (await knowledge.client.get("/openapi.json")).json()
    return document


async def test_a_stale_article_edit_is_a_409_its_document_declares(knowledge: Knowledge) -> None:
    [article] = await knowledge.create_articles([article_request()])
    await knowledge.client.patch(f"/v1/articles/{article['id']}", json={"version": 1, "title": "Second"})
    response = await knowledge.client.patch(f"/v1/articles/{article['id']}", json={"version": 1, "title": "Third"})
    assert (response.status_code, response.json()["type"]) == (409, "https://firstcall.dev/problems/stale-version")
    conforms(await document_of(knowledge), "/v1/articles/{article_id}", "PATCH", response, article_id=article["id"])


async def test_an_edit_of_an_archived_article_is_a_409_its_document_declares(knowledge: Knowledge) -> None:
    [article] = await knowledge.create_articles([article_request()])
    await knowledge.client.patch(f"/v1/articles/{article['id']}", json={"version": 1, "status": "archived"})
    response = await knowledge.client.patch(f"/v1/articles/{article['id']}", json={"version": 2, "title": "Back"})
    assert (response.status_code, response.json()["type"]) == (409, "https://firstcall.dev/problems/article-archived")
    conforms(await document_of(knowledge), "/v1/articles/{article_id}", "PATCH", response, article_id=article["id"])


async def test_a_second_article_with_one_external_id_is_a_409_its_document_declares(knowledge: Knowledge) -> None:
    [first] = await knowledge.create_articles([article_request(external_id="zendesk:1042")])
    response = await knowledge.client.post("/v1/articles", json=article_request(external_id="zendesk:1042", title="x"))
    assert (response.status_code, response.json()["type"]) == (409, "https://firstcall.dev/problems/external-id-taken")
    assert response.json()["article_id"] == first["id"]
    assert await knowledge.count(Article) == 1
    conforms(await document_of(knowledge), "/v1/articles", "POST", response)


async def test_a_stale_known_issue_edit_is_a_409_its_document_declares(knowledge: Knowledge) -> None:
    issue = (await knowledge.client.post("/v1/known-issues", json=known_issue_request())).json()
    await knowledge.client.patch(f"/v1/known-issues/{issue['id']}", json={"revision": 1, "title": "Second"})
    response = await knowledge.client.patch(f"/v1/known-issues/{issue['id']}", json={"revision": 1, "title": "Third"})
    assert (response.status_code, response.json()["type"]) == (409, "https://firstcall.dev/problems/stale-revision")
    conforms(await document_of(knowledge), "/v1/known-issues/{issue_id}", "PATCH", response, issue_id=issue["id"])


async def test_a_second_known_issue_for_one_problem_is_a_409_its_document_declares(knowledge: Knowledge) -> None:
    body = known_issue_request(problem_id="0b6f3a52-8a7e-4d47-9f0e-3c2d1a4b5e60")
    assert (await knowledge.client.post("/v1/known-issues", json=body)).status_code == 201
    response = await knowledge.client.post("/v1/known-issues", json=body)
    assert (response.status_code, response.json()["type"]) == (409, "https://firstcall.dev/problems/known-issue-exists")
    conforms(await document_of(knowledge), "/v1/known-issues", "POST", response)


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
async def test_a_method_the_import_does_not_take_is_a_405_naming_post(knowledge: Knowledge, method: str) -> None:
    response = await knowledge.client.request(method, "/v1/articles/import", json={"version": 1, "title": "x"})
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.headers["content-type"] == "application/problem+json"


async def test_an_article_id_that_is_no_uuid_names_nothing(knowledge: Knowledge) -> None:
    response = await knowledge.client.get("/v1/articles/not-an-article")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_ids_in_paths_stay_documented_as_uuids(knowledge: Knowledge) -> None:
    document = await document_of(knowledge)
    parameters = {
        (path, parameter["name"]): parameter["schema"]
        for _, path, operation in api_operations(document)
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "path"
    }
    assert "/v1/articles/{article_id}" in document["paths"]
    assert parameters
    assert {key: schema.get("format") for key, schema in parameters.items()} == dict.fromkeys(parameters, "uuid")


async def test_the_import_body_is_documented_as_lines_of_import_articles(knowledge: Knowledge) -> None:
    document = await document_of(knowledge)
    body = document["paths"]["/v1/articles/import"]["post"]["requestBody"]
    schema = body["content"][NDJSON]["schema"]
    assert body["required"] is True
    assert schema["type"] == "array"
    assert "5,000" in schema["description"]
    line = resolved(document, schema["items"])
    assert line["title"] == "ArticleImportLine"
    assert "external_id" in line["required"]
    assert all("external_id" in example for example in line["examples"])


async def test_every_operation_shows_an_example_of_its_body_and_its_answer(knowledge: Knowledge) -> None:
    document = await document_of(knowledge)
    missing = []
    for method, path, operation in api_operations(document):
        for media_type, content in operation.get("requestBody", {}).get("content", {}).items():
            if not examples_of(document, content):
                missing.append(f"{method} {path} request {media_type}")
        for status, response in operation["responses"].items():
            for media_type, content in response.get("content", {}).items():
                if status.startswith("2") and not examples_of(document, content):
                    missing.append(f"{method} {path} {status} {media_type}")
    assert len(api_operations(document)) >= 13
    assert missing == []


async def test_every_example_is_valid_for_what_it_illustrates(knowledge: Knowledge) -> None:
    document = await document_of(knowledge)
    checked, invalid = invalid_examples(document)
    assert checked >= 30
    assert invalid == []


async def test_the_body_examples_are_accepted_by_the_service(knowledge: Knowledge) -> None:
    document = await document_of(knowledge)
    schemas = document["components"]["schemas"]
    for name, path in (("ArticleCreate", "/v1/articles"), ("KnownIssueCreate", "/v1/known-issues")):
        for example in schemas[name]["examples"]:
            response = await knowledge.client.post(path, json=example)
            assert response.status_code == 201, response.text
    body = document["paths"]["/v1/articles/import"]["post"]["requestBody"]["content"][NDJSON]
    lines = b"".join(
        orjson.dumps(example) + b"\n" for example in resolved(document, body["schema"]["items"])["examples"]
    )
    response = await knowledge.client.post("/v1/articles/import", content=lines, headers={"content-type": NDJSON})
    assert response.status_code == 200, response.text
