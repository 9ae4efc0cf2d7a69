"""The agent <-> RT user mapping as the admin API reads and writes it."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class AgentLinkWrite(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"rt_user": "grace"}]})

    rt_user: str = Field(
        min_length=1, max_length=200, pattern=r"^[^\s/]+$", description="the agent's RT user name (must exist in RT)"
    )


class AgentLinkRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    agent_id: uuid.UUID
    rt_user: str
    created_at: datetime
    updated_at: datetime


class AgentLinkPage(BaseModel):
    items: list[AgentLinkRead]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null at the end")


class TicketLinkRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    ticket_id: uuid.UUID
    rt_ticket_id: int | None = Field(description="null until the ticket is created in RT")
    rt_url: str | None
    queue: str | None
    rt_last_change_id: int = Field(description="RT changes up to this transaction are read back")
    pending_effects: int = Field(description="writes to RT still waiting for this ticket")
