"""The article list pages as every list does: `next_cursor` in the body and the same page in `Link`."""

from __future__ import annotations

import uuid

from shared.web.pagination import encode_cursor
from tests.knowledge_factories import article_request
from tests.paging import walk
from tests.unit.knowledge.conftest import Knowledge


async def test_articles_are_walked_by_their_link_headers_in_creation_order(knowledge: Knowledge) -> None:
    created = await knowledge.create_articles([article_request(title=f"Article {i}") for i in range(3)])
    pages = await walk(knowledge.client, "/v1/articles", limit=2)
    assert [[a["id"] for a in page] for page in pages] == [[a["id"] for a in created[:2]], [created[2]["id"]]]


async def test_a_cursor_whose_time_no_column_can_hold_is_a_422_naming_it(knowledge: Knowledge) -> None:
    await knowledge.create_articles([article_request()])
    cursor = encode_cursor("0001-01-01T00:00:00+05:00", str(uuid.uuid4()))  # before year 1 once in UTC
    response = await knowledge.client.get("/v1/articles", params={"cursor": cursor})
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["query.cursor"]
