"""The article list pages as every list does: `next_cursor` in the body and the same page in `Link`."""

from __future__ import annotations

from tests.knowledge_factories import article_request
from tests.paging import walk
from tests.unit.knowledge.conftest import Knowledge


async def test_articles_are_walked_by_their_link_headers_in_creation_order(knowledge: Knowledge) -> None:
    created = await knowledge.create_articles([article_request(title=f"Article {i}") for i in range(3)])
    pages = await walk(knowledge.client, "/v1/articles", limit=2)
    assert [[a["id"] for a in page] for page in pages] == [[a["id"] for a in created[:2]], [created[2]["id"]]]
