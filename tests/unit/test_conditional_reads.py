"""ETags across the services: If-None-Match answers 304 on tickets, customers, agents and articles; an article's
update honours If-Match; of two writers holding the same ETag, one wins and the other gets 412."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from tests.factories import agent_request, ticket_request
from tests.knowledge_factories import article_request
from tests.unit.conftest import Stack


async def created(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(path, json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def resources(stack: Stack) -> dict[str, tuple[httpx.AsyncClient, str]]:
    """One ticket, its customer, an agent and an article: (client, path) of each."""
    agent = await created(stack.router, "/v1/agents", agent_request())
    ticket = await created(stack.router, "/v1/tickets", ticket_request())
    article = await created(stack.knowledge, "/v1/articles", article_request())
    return {
        "ticket": (stack.router, f"/v1/tickets/{ticket['id']}"),
        "customer": (stack.router, f"/v1/customers/{ticket['customer_id']}"),
        "agent": (stack.router, f"/v1/agents/{agent['id']}"),
        "article": (stack.knowledge, f"/v1/articles/{article['id']}"),
    }


@pytest.mark.parametrize("resource", ["ticket", "customer", "agent", "article"])
async def test_if_none_match_with_the_current_etag_is_a_304_without_a_body(stack: Stack, resource: str) -> None:
    client, path = (await resources(stack))[resource]
    tag = (await client.get(path)).headers["ETag"]

    for sent in (tag, f"W/{tag}", f'"other", {tag}', "*"):  # If-None-Match compares weakly (RFC 9110, 13.1.2)
        response = await client.get(path, headers={"If-None-Match": sent})
        assert response.status_code == 304, sent
        assert response.content == b""
        assert response.headers["ETag"] == tag
        assert "content-type" not in response.headers


@pytest.mark.parametrize("resource", ["ticket", "customer", "agent", "article"])
async def test_if_none_match_with_another_etag_answers_the_representation(stack: Stack, resource: str) -> None:
    client, path = (await resources(stack))[resource]
    response = await client.get(path, headers={"If-None-Match": '"not-the-tag"'})
    assert response.status_code == 200
    assert response.json()["id"] == path.rsplit("/", 1)[1]


async def test_a_changed_ticket_is_answered_in_full_to_the_tag_read_before(stack: Stack) -> None:
    _, path = (await resources(stack))["ticket"]
    before = (await stack.router.get(path)).headers["ETag"]
    assert (await stack.router.patch(path, json={"priority": "high"})).status_code == 200
    response = await stack.router.get(path, headers={"If-None-Match": before})
    assert response.status_code == 200
    assert response.json()["priority"] == "high"


async def test_an_article_read_and_its_update_carry_the_etag_and_a_stale_one_is_a_412(stack: Stack) -> None:
    _, path = (await resources(stack))["article"]
    read = await stack.knowledge.get(path)
    tag = read.headers["ETag"]
    edit = {"version": read.json()["latest_version"], "title": "Card declined: switch on online payments"}

    updated = await stack.knowledge.patch(path, json=edit, headers={"If-Match": tag})
    assert updated.status_code == 200, updated.text
    assert updated.headers["ETag"] == (await stack.knowledge.get(path)).headers["ETag"] != tag

    again = {"version": updated.json()["latest_version"], "title": "Overwritten"}
    stale = await stack.knowledge.patch(path, json=again, headers={"If-Match": tag})
    assert stale.status_code == 412
    assert stale.json()["type"].endswith("/precondition-failed")
    assert stale.headers["ETag"] == updated.headers["ETag"]
    assert (await stack.knowledge.get(path)).json()["title"] == edit["title"]


@pytest.mark.parametrize(
    ("resource", "edits"),
    [
        ("ticket", [{"subject": "First writer"}, {"subject": "Second writer"}]),
        ("agent", [{"team": "first"}, {"team": "second"}]),
        ("article", [{"title": "First writer"}, {"title": "Second writer"}]),
    ],
)
async def test_of_two_writers_with_the_same_etag_one_wins_and_the_other_gets_412(
    stack: Stack, resource: str, edits: list[dict[str, Any]]
) -> None:
    client, path = (await resources(stack))[resource]
    read = await client.get(path)
    version = {"version": read.json()["latest_version"]} if resource == "article" else {}
    headers = {"If-Match": read.headers["ETag"]}

    answers = await asyncio.gather(*(client.patch(path, json={**version, **e}, headers=headers) for e in edits))

    assert sorted(a.status_code for a in answers) == [200, 412]
    [winner] = [a for a in answers if a.status_code == 200]
    [loser] = [a for a in answers if a.status_code == 412]
    assert loser.headers["ETag"] == winner.headers["ETag"] == (await client.get(path)).headers["ETag"]
    field, value = next(iter(edits[answers.index(winner)].items()))
    assert (await client.get(path)).json()[field] == value


async def test_the_documents_offer_if_none_match_and_304_where_an_etag_is_answered(stack: Stack) -> None:
    for client, path in [(stack.router, "/v1/tickets/{ticket_id}"), (stack.knowledge, "/v1/articles/{article_id}")]:
        operation = (await client.get("/openapi.json")).json()["paths"][path]["get"]
        assert "If-None-Match" in [p["name"] for p in operation["parameters"] if p["in"] == "header"]
        assert "ETag" in operation["responses"]["304"]["headers"]
    # Only reads: an update answering an ETag takes If-Match, and If-None-Match means nothing to it.
    update = (await stack.router.get("/openapi.json")).json()["paths"]["/v1/tickets/{ticket_id}"]["patch"]
    assert "If-None-Match" not in [p["name"] for p in update["parameters"] if p["in"] == "header"]
    assert "304" not in update["responses"]


@pytest.mark.parametrize("sent", ["0" * 1001, "not-a-tag", '"a" "b"', ""])
async def test_a_malformed_if_none_match_on_a_read_with_an_etag_is_a_422_naming_it(stack: Stack, sent: str) -> None:
    client, path = (await resources(stack))["ticket"]
    response = await client.get(path, headers={"If-None-Match": sent})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == ["header.If-None-Match"]


async def test_a_malformed_if_none_match_is_a_422_before_the_read_is_looked_up(stack: Stack) -> None:
    # Checked as a header of the request, before the route: not a 404 for a ticket that is not there (nor the
    # 410 of an erased customer), which a client would take as an answer about the resource.
    response = await stack.router.get(f"/v1/tickets/{uuid.uuid4()}", headers={"If-None-Match": "not-a-tag"})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["header.If-None-Match"]
