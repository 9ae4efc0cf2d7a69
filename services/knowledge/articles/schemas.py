"""Articles as authors write them and agents read them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import MISSING, BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic.config import JsonDict

ArticleStatus = Literal["draft", "published", "archived"]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Body = Annotated[str, StringConstraints(min_length=1, max_length=100_000, pattern=r"\S")]
MAX_LABEL_CHARS = 60
Label = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=MAX_LABEL_CHARS)
]
Locale = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$", max_length=35)]
ExternalId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
MAX_LABELS = 50
# Versions and revisions are INTEGER columns: a number beyond what one can hold names nothing that exists.
MAX_VERSION = 2**31 - 1

# The examples the OpenAPI document shows (one article, seen from each operation); tests/unit/knowledge/
# test_openapi.py checks each against its schema.
_ARTICLE_ID = "3f2b8c1e-6d4a-4e0f-9b7c-2a1d5e8f4c30"
_TITLE = "Card payment declined although the account has funds"
_BODY = "## Cause\nThe card's online payments are off.\n\n## Fix\nTurn them on in the app."
_VERSION_EXAMPLE: JsonDict = {
    "version": 2,
    "status": "published",
    "title": _TITLE,
    "body": _BODY,
    "tags": ["payments"],
    "products": ["debit-card"],
    "locale": "en",
    "created_at": "2026-11-24T08:15:00Z",
}
ARTICLE_EXAMPLE: JsonDict = {
    "id": _ARTICLE_ID,
    "status": "published",
    "version": 2,
    "latest_version": 2,
    "published_version": 2,
    "title": _TITLE,
    "body": _BODY,
    "tags": ["payments"],
    "products": ["debit-card"],
    "locale": "en",
    "external_id": "zendesk:1042",
    "source_ticket_id": "5f0c2f1e-3d2a-4f7e-9a59-0a6c1f3b2d10",
    "created_at": "2026-11-20T14:02:11Z",
    "updated_at": "2026-11-24T08:15:00Z",
}


class ArticleCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "title": "Card payment declined although the account has funds",
                    "body": "## Cause\nThe card's online payments are off.\n\n## Fix\nTurn them on in the app.",
                    "tags": ["payments"],
                    "products": ["debit-card"],
                    "locale": "en",
                    "status": "published",
                }
            ]
        },
    )

    title: Title
    body: Body
    tags: list[Label] = Field(default_factory=list, max_length=MAX_LABELS)
    products: list[Label] = Field(default_factory=list, max_length=MAX_LABELS)
    locale: Locale = "en"
    status: Literal["draft", "published"] = "draft"
    external_id: ExternalId | None = None


class ArticleImportLine(ArticleCreate):
    """One line of a bulk import: the external id is what makes a re-import change nothing."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "external_id": "zendesk:1042",
                    "title": _TITLE,
                    "body": _BODY,
                    "tags": ["payments"],
                    "products": ["debit-card"],
                    "locale": "en",
                }
            ]
        },
    )

    external_id: ExternalId
    status: Literal["draft", "published"] = "published"


class ArticleUpdate(BaseModel):
    """Only the fields sent change. Every field of an article has a value: `X | MISSING` says a field may be
    left out but not sent as null (a 422 naming it), and the OpenAPI document says the same."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"version": 1, "title": "Card declined: turn on online use"}]}
    )

    version: int = Field(ge=1, le=MAX_VERSION, description="the latest version you read; a newer one exists -> 409")
    title: Title | MISSING = MISSING
    body: Body | MISSING = MISSING
    tags: list[Label] | MISSING = Field(MISSING, max_length=MAX_LABELS)
    products: list[Label] | MISSING = Field(MISSING, max_length=MAX_LABELS)
    locale: Locale | MISSING = MISSING
    status: ArticleStatus | MISSING = MISSING

    @model_validator(mode="after")
    def _changes_something(self) -> Self:
        if not self.model_fields_set - {"version"}:
            raise ValueError("name at least one field to change besides `version`")
        return self


class ArticleVersionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_VERSION_EXAMPLE]})

    version: int
    status: ArticleStatus
    title: str
    body: str
    tags: list[str]
    products: list[str]
    locale: str
    created_at: datetime


class ArticleRead(BaseModel):
    """What readers see (the latest published version, else the latest draft), and where it stands."""

    model_config = ConfigDict(json_schema_extra={"examples": [ARTICLE_EXAMPLE]})

    id: uuid.UUID
    status: ArticleStatus = Field(description="draft (never published), published or archived")
    version: int = Field(description="the version shown here")
    latest_version: int = Field(description="name it in the next PATCH")
    published_version: int | None
    title: str
    body: str
    tags: list[str]
    products: list[str]
    locale: str
    external_id: str | None
    source_ticket_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class ArticleVersionList(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "article_id": _ARTICLE_ID,
                    "versions": [
                        {
                            **_VERSION_EXAMPLE,
                            "version": 1,
                            "title": "Card declined",
                            "created_at": "2026-11-20T14:02:11Z",
                        },
                        _VERSION_EXAMPLE,
                    ],
                }
            ]
        }
    )

    article_id: uuid.UUID
    versions: list[ArticleVersionRead]


class ArticlePage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [ARTICLE_EXAMPLE],
                    "next_cursor": "WyIyMDI2LTExLTIwVDE0OjAyOjExKzAwOjAwIiwiM2YyYjhjMWUtNmQ0YS00ZTBmLTliN2MtMmExZDVlOGY0YzMwIl0",
                }
            ]
        }
    )

    items: list[ArticleRead]
    next_cursor: str | None


class ImportedArticle(BaseModel):
    line: int
    external_id: str
    article_id: uuid.UUID
    outcome: Literal["created", "updated", "unchanged"]
    version: int


class ImportReport(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "created": 1,
                    "updated": 1,
                    "unchanged": 0,
                    "articles": [
                        {
                            "line": 1,
                            "external_id": "zendesk:1042",
                            "article_id": _ARTICLE_ID,
                            "outcome": "updated",
                            "version": 2,
                        },
                        {
                            "line": 2,
                            "external_id": "zendesk:1043",
                            "article_id": "8a1d4f2e-0c3b-4b7a-9e5d-6f2a1c3b4d50",
                            "outcome": "created",
                            "version": 1,
                        },
                    ],
                }
            ]
        }
    )

    created: int
    updated: int
    unchanged: int
    articles: list[ImportedArticle]
