"""Reports as ops and the router read them, and the duplicate view of one report."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class ReportRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "ticket_id": "5f0c2f1e-3d2a-4f7e-9a59-0a6c1f3b2d10",
                    "customer_id": "c1a2b3d4-e5f6-4a7b-8c9d-0e1f2a3b4c50",
                    "channel": "web",
                    "text": "Checkout fails with a payment error. The card is fine; it worked yesterday.",
                    "opened_at": "2026-11-24T08:02:00Z",
                    "received_at": "2026-11-24T08:02:00.180000Z",
                    "problem_id": "1a393a70-4f8c-4183-87e7-a1deaf2bff90",
                }
            ]
        },
    )

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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "ticket_id": "5f0c2f1e-3d2a-4f7e-9a59-0a6c1f3b2d10",
                    "items": [
                        {
                            "ticket_id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c60",
                            "customer_id": "0d1e2f3a-4b5c-4d6e-8f7a-9b0c1d2e3f40",
                            "subject": "Payment error at checkout",
                            "opened_at": "2026-11-24T08:05:30Z",
                            "problem_id": "1a393a70-4f8c-4183-87e7-a1deaf2bff90",
                            "score": 0.91,
                        }
                    ],
                }
            ]
        }
    )

    ticket_id: uuid.UUID
    items: list[SimilarReport]
