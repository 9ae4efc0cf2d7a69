"""Reports as ops and the router read them, and the duplicate view of one report."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class ReportRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    ticket_id: uuid.UUID
    customer_id: uuid.UUID
    channel: str
    text: str
    opened_at: datetime
    received_at: datetime
    problem_id: uuid.UUID | None = Field(
        None, validation_alias="cluster_id", description="the cluster or problem the report belongs to"
    )


class SimilarReport(BaseModel):
    ticket_id: uuid.UUID
    customer_id: uuid.UUID
    subject: str
    opened_at: datetime
    problem_id: uuid.UUID | None = Field(
        description="the cluster or problem that report is in (GET /v1/problems/{id}); a cluster below "
        "problem_min_customers customers has status forming"
    )
    score: float = Field(description="blended cosine similarity, 0 to 1")


class SimilarReports(BaseModel):
    ticket_id: uuid.UUID
    items: list[SimilarReport]
