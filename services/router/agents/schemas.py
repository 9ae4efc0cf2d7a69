"""Agents as supervisors register and update them."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.events.catalogue import AgentStatus, Channel, ResolutionType

Role = Literal["agent", "team_lead", "supervisor"]
Money = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]
Currency = Annotated[str, Field(pattern="^[A-Z]{3}$", description="ISO 4217", examples=["EUR"])]
SkillLevel = Annotated[int, Field(ge=1, le=5)]
Capacity = Annotated[int, Field(ge=0, le=1000)]
Authority = dict[ResolutionType, dict[Currency, Money]]

_EXAMPLE: dict[str, Any] = {
    "display_name": "Grace Hopper",
    "email": "grace@contact.example",
    "team": "payments",
    "role": "agent",
    "skills": {"cards": 4, "refunds": 3},
    "capacity": {"phone": 1, "chat": 3, "email": 10},
    "authority": {"credit": {"EUR": "50.00"}, "refund": {"EUR": "200.00"}, "return": {"EUR": "500.00"}},
    "status": "available",
}


class AgentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_EXAMPLE]})

    display_name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(None, max_length=320)
    team: str | None = Field(None, max_length=100)
    role: Role = "agent"
    skills: dict[str, SkillLevel] = Field(default_factory=dict, max_length=100)
    capacity: dict[Channel, Capacity] = Field(default_factory=dict)
    authority: Authority = Field(default_factory=dict)
    status: AgentStatus = "offline"

    @field_validator("skills")
    @classmethod
    def _skill_names(cls, skills: dict[str, int]) -> dict[str, int]:
        return {name.strip().lower(): level for name, level in skills.items() if name.strip()}


class AgentUpdate(BaseModel):
    """Only the fields given change."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"status": "available"}]})

    display_name: str | None = Field(None, min_length=1, max_length=200)
    team: str | None = Field(None, max_length=100)
    role: Role | None = None
    skills: dict[str, SkillLevel] | None = None
    capacity: dict[Channel, Capacity] | None = None
    authority: Authority | None = None
    status: AgentStatus | None = None


class AgentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    display_name: str
    email: str | None
    team: str | None
    role: Role
    status: AgentStatus
    skills: dict[str, int]
    capacity: dict[str, int]
    authority: dict[str, dict[str, Decimal]]
    load: dict[str, int] = Field(default_factory=dict, description="open tickets per channel right now")
    last_assigned_at: datetime | None
    status_changed_at: datetime
    created_at: datetime
    updated_at: datetime
