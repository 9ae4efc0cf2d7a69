"""Known issues as ops write them and agents read them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Self

from pydantic import MISSING, BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic.config import JsonDict

from services.knowledge.articles.schemas import MAX_LABELS, MAX_VERSION, Label, Title
from shared.events.catalogue import KnownIssueStatus

LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]
FixVersion = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
KNOWN_ISSUE_EXAMPLE: JsonDict = {
    "id": "5c7e9a1b-2d4f-4a6c-8e0b-1d3f5a7c9e20",
    "problem_id": "0b6f3a52-8a7e-4d47-9f0e-3c2d1a4b5e60",
    "title": "Card payments declined after the 4.2 app update",
    "symptoms": "Payments are declined at checkout although the account has funds.",
    "affected_products": ["debit-card"],
    "status": "fix_available",
    "workaround": "Pay with the card's number instead of the wallet.",
    "fix": "Update the app to 4.2.1: wallet payments go through again.",
    "fix_version": "4.2.1",
    "revision": 3,
    "drafted": False,
    "created_at": "2026-11-24T07:40:00Z",
    "updated_at": "2026-11-24T09:30:00Z",
}


class KnownIssueCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "title": "Card payments declined after the 4.2 app update",
                    "symptoms": "Payments are declined at checkout although the account has funds.",
                    "affected_products": ["debit-card"],
                    "status": "workaround_available",
                    "workaround": "Pay with the card's number instead of the wallet.",
                }
            ]
        },
    )

    title: Title
    symptoms: LongText
    affected_products: list[Label] = Field(default_factory=list, max_length=MAX_LABELS)
    status: KnownIssueStatus = "investigating"
    workaround: LongText | None = None
    fix: LongText | None = None
    fix_version: FixVersion | None = None
    problem_id: uuid.UUID | None = None


class KnownIssueUpdate(BaseModel):
    """Only the fields sent change. A title, symptoms, products and status are always there (null: a 422
    naming the field); null clears the workaround, the fix or the fix version."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"revision": 1, "status": "workaround_available", "workaround": "Pay by card number."}]
        },
    )

    revision: int = Field(ge=1, le=MAX_VERSION, description="the latest revision you read; a newer one exists -> 409")
    title: Title | MISSING = MISSING
    symptoms: LongText | MISSING = MISSING
    affected_products: list[Label] | MISSING = Field(MISSING, max_length=MAX_LABELS)
    status: KnownIssueStatus | MISSING = MISSING
    workaround: LongText | MISSING | None = MISSING
    fix: LongText | MISSING | None = MISSING
    fix_version: FixVersion | MISSING | None = MISSING

    @model_validator(mode="after")
    def _changes_something(self) -> Self:
        if not self.model_fields_set - {"revision"}:
            raise ValueError("name at least one field to change besides `revision`")
        return self


class KnownIssueRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [KNOWN_ISSUE_EXAMPLE]})

    id: uuid.UUID
    problem_id: uuid.UUID | None
    title: str
    symptoms: str
    affected_products: list[str]
    status: KnownIssueStatus
    workaround: str | None
    fix: str | None
    fix_version: str | None
    revision: int
    drafted: bool = Field(
        description="title and symptoms are the machine's draft from the problem, in no customer's words, "
        "redrafted on its next event; false once a person wrote them (they are then never redrafted)"
    )
    created_at: datetime
    updated_at: datetime


class KnownIssuePage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [KNOWN_ISSUE_EXAMPLE],
                    "next_cursor": "WyIyMDI2LTExLTI0VDA5OjMwOjAwKzAwOjAwIiwiNWM3ZTlhMWItMmQ0Zi00YTZjLThlMGItMWQzZjVhN2M5ZTIwIl0",
                }
            ]
        }
    )

    items: list[KnownIssueRead]
    next_cursor: str | None
