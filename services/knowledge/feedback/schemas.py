"""Feedback on an article, as an agent gives it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, StringConstraints, model_validator

Outcome = Literal["resolved", "helpful", "not_helpful"]
QueryText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class FeedbackCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"outcome": "resolved", "ticket_id": "5f0c2f1e-3d2a-4f7e-9a59-0a6c1f3b2d10"}],
        },
    )

    outcome: Outcome
    query: QueryText | None = None
    ticket_id: uuid.UUID | None = None
    comment: Annotated[str, StringConstraints(max_length=2000)] | None = None

    @model_validator(mode="after")
    def _says_for_what(self) -> Self:
        if self.query is None and self.ticket_id is None:
            raise ValueError("give the `query` the article answered, or the `ticket_id` it was used on")
        return self


class FeedbackRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "9d3b5f7a-1c2e-4a4b-8d6f-0e1a2b3c4d50",
                    "article_id": "3f2b8c1e-6d4a-4e0f-9b7c-2a1d5e8f4c30",
                    "outcome": "resolved",
                    "query": "card declined but I have money",
                    "ticket_id": "5f0c2f1e-3d2a-4f7e-9a59-0a6c1f3b2d10",
                    "source": "agent",
                    "created_at": "2026-11-24T10:05:00Z",
                }
            ]
        },
    )

    id: uuid.UUID
    article_id: uuid.UUID
    outcome: Outcome
    query: str | None
    ticket_id: uuid.UUID | None
    source: Literal["agent", "ticket"]
    created_at: datetime
