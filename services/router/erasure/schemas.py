"""What an erasure request carries and what its audit record shows."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

REASON_MIN, REASON_MAX = 3, 500


class ErasureRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "GDPR art. 17 request, ref. DPO-2026-114"}]}
    )

    reason: str = Field(
        min_length=REASON_MIN,
        max_length=REASON_MAX,
        description="why (kept in the audit): a request reference, never the customer's name, email or phone",
    )


class ErasureRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    status: Literal["pending", "completed"] = Field(
        description="pending: accepted, each service erases on CustomerErased; completed: the router has"
    )
    reason: str
    actor: str = Field(description="the API key that asked")
    subject_digest: str = Field(description="HMAC-SHA256 of the customer id: proves whom without keeping it")
    erased: dict[str, int] = Field(description="rows changed in the router, by table")
    requested_at: datetime
    completed_at: datetime | None
