"""Articles as authors write them and agents read them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import MISSING, BaseModel, ConfigDict, Field, StringConstraints, model_validator

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
    model_config = ConfigDict(from_attributes=True)

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
    article_id: uuid.UUID
    versions: list[ArticleVersionRead]


class ArticlePage(BaseModel):
    items: list[ArticleRead]
    next_cursor: str | None


class ImportedArticle(BaseModel):
    line: int
    external_id: str
    article_id: uuid.UUID
    outcome: Literal["created", "updated", "unchanged"]
    version: int


class ImportReport(BaseModel):
    created: int
    updated: int
    unchanged: int
    articles: list[ImportedArticle]
