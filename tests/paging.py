"""Walking a cursor-paginated list as a client would: by its `Link: <...>; rel="next"` header."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

_NEXT = re.compile(r'^<(?P<url>[^>]+)>; rel="next"$')


def next_link(response: httpx.Response) -> str | None:
    """The next page's URL from the `Link` header, checked against `next_cursor` in the body."""
    cursor = response.json()["next_cursor"]
    link = response.headers.get("link")
    if cursor is None:
        assert link is None, link
        return None
    assert link is not None, "a page with a next_cursor has no Link header"
    match = _NEXT.match(link)
    assert match is not None, link
    assert parse_qs(urlsplit(match["url"]).query)["cursor"] == [cursor]
    return match["url"]


async def walk(client: httpx.AsyncClient, path: str, **params: Any) -> list[list[dict[str, Any]]]:
    """Every page of a list, first to last, following the Link headers."""
    # httpx drops a URL's own query when given params, even empty ones.
    response = await client.get(path, params=params) if params else await client.get(path)
    pages = []
    while True:
        assert response.status_code == 200, response.text
        pages.append(response.json()["items"])
        url = next_link(response)
        if url is None:
            return pages
        response = await client.get(url)
