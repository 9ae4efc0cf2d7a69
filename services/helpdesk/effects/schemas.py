"""The effect journal and the sync's state as ops read them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

EffectStatus = Literal["pending", "done", "failed", "superseded", "dropped"]


class EffectRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="also the marker written into RT (its first 16 hex digits)")
    ticket_id: uuid.UUID
    kind: str = Field(examples=["create", "owner", "status", "comment", "context"])
    status: EffectStatus
    cause: str
    attempts: int
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime
    done_at: datetime | None


class EffectPage(BaseModel):
    items: list[EffectRead]
    next_cursor: str | None


class SyncStatus(BaseModel):
    connected: bool = Field(description="an RT is configured")
    cursor: datetime | None = Field(description="RT's LastUpdated up to which changes are read back")
    pending_effects: int
    oldest_pending_at: datetime | None
    failed_effects: int
