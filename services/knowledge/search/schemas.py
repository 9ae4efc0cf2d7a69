"""Search results as agents and contact-center software read them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "query": "card declined but I have money",
                    "results": [
                        {
                            "id": "5c7e9a1b-2d4f-4a6c-8e0b-1d3f5a7c9e20",
                            "kind": "known_issue",
                            "version": 3,
                            "title": "Card payments declined after the 4.2 app update",
                            "snippet": "Payments are **declined** at checkout although the account has funds.",
                            "score": 14.2,
                            "exact": False,
                            "products": ["debit-card"],
                            "tags": [],
                            "locale": "en",
                        },
                        {
                            "id": "3f2b8c1e-6d4a-4e0f-9b7c-2a1d5e8f4c30",
                            "kind": "article",
                            "version": 2,
                            "title": "Card payment declined although the account has funds",
                            "snippet": "The **card**'s online payments are off.",
                            "score": 11.7,
                            "exact": False,
                            "products": ["debit-card"],
                            "tags": ["payments"],
                            "locale": "en",
                        },
                    ],
                    "next_cursor": "WzExLjcsIjNmMmI4YzFlLTZkNGEtNGUwZi05YjdjLTJhMWQ1ZThmNGMzMCIsIjVkNDE0MDJhYmM0YjJhNzYiXQ",
                }
            ]
        }
    )

    query: str
    results: list[SearchHit]
    next_cursor: str | None = Field(description="pass it back as `cursor` for the next page")
