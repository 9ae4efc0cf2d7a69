"""Search results as agents and contact-center software read them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

DocumentKind = Literal["article", "known_issue"]
MAX_QUERY_CHARS = 500


@dataclass(frozen=True)
class SearchQuery:
    """A validated search: the words, the filters, and where the previous page ended."""

    q: str
    products: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    locales: tuple[str, ...] = ()
    kind: str | None = None
    limit: int = 10
    cursor: str | None = None


class SearchHit(BaseModel):
    id: uuid.UUID
    kind: DocumentKind
    version: int = Field(description="article version, or known-issue revision")
    title: str
    snippet: str
    score: float = Field(description="relevance; comparable within one query only")
    exact: bool = Field(description="the title is exactly the query: always ranked first")
    products: list[str]
    tags: list[str]
    locale: str


class SearchResults(BaseModel):
    query: str
    results: list[SearchHit]
    next_cursor: str | None = Field(description="pass it back as `cursor` for the next page")
