"""Problems as ops list, inspect and act on them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.events.catalogue import Channel


class KnownIssueBrief(BaseModel):
    known_issue_id: uuid.UUID
    title: str
    status: str
    workaround: str | None
    fix: str | None
    fix_version: str | None


class ProblemRead(BaseModel):
    id: uuid.UUID
    status: Literal["forming", "open", "resolved", "merged"]
    severity: Literal["minor", "major"]
    summary_text: str
    customer_count: int
    report_count: int
    first_seen: datetime
    last_seen: datetime
    growth_per_hour: float
    detected_at: datetime | None
    escalated_at: datetime | None
    resolved_at: datetime | None
    resolution: str | None
    fix_version: str | None
    article_id: uuid.UUID | None
    merged_into: uuid.UUID | None
    known_issue: KnownIssueBrief | None = None


class MemberRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    ticket_id: uuid.UUID
    customer_id: uuid.UUID
    channel: Channel
    subject: str
    intent: str | None
    product: str | None
    opened_at: datetime
    resolved_at: datetime | None


class ProblemDetail(ProblemRead):
    intents: list[str]
    products: list[str]
    members: list[MemberRead]


class ProblemList(BaseModel):
    items: list[ProblemRead]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page (also in `Link`); null at the end")
    limit: int
    offset: int = Field(description="deprecated with the `offset` parameter: the rows skipped")


class MergeRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"problem_id": "7e4c2a10-5b3d-4f6e-8a9c-1d2e3f4a5b60"}]}
    )

    problem_id: uuid.UUID = Field(description="the problem folded into this one (it ends as `merged`)")


class SplitRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "ticket_ids": ["5f0c2f1e-3d2a-4f7e-9a59-0a6c1f3b2d10", "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c60"],
                    "as_new_problem": True,
                }
            ]
        },
    )

    ticket_ids: list[uuid.UUID] = Field(min_length=1, max_length=500, description="member tickets wrongly grouped")
    as_new_problem: bool = Field(False, description="keep the split tickets together as a cluster of their own")


class SplitResult(BaseModel):
    problem: ProblemDetail
    new_problem_id: uuid.UUID | None


class ResolveRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "resolution": "The payment provider renewed its certificate; payments go through again.",
                    "fix_version": "2.4.1",
                    "article_id": "3f2b8c1e-6d4a-4e0f-9b7c-2a1d5e8f4c30",
                }
            ]
        },
    )

    resolution: str = Field(min_length=1, max_length=5000, description="what fixed it, in words customers read")
    fix_version: str | None = Field(None, max_length=100)
    article_id: uuid.UUID | None = Field(None, description="a published knowledge article that explains it")
