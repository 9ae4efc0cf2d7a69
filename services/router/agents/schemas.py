"""Agents as supervisors register and update them."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import MISSING, AfterValidator, BaseModel, ConfigDict, Field, field_validator

from services.router.inputs import Integer
from services.router.money import Amount, Currency, exact_map, written_map
from shared.events.catalogue import AgentStatus, Channel, ResolutionType

Role = Literal["agent", "team_lead", "supervisor"]
SkillName = Annotated[str, Field(min_length=1, max_length=100)]
SkillLevel = Annotated[Integer, Field(ge=1, le=5)]
Capacity = Annotated[Integer, Field(ge=0, le=1000)]


def _exact_authority(authority: dict[Any, dict[str, Decimal]]) -> dict[Any, dict[str, Decimal]]:
    """Each limit in its currency's minor units (a JPY limit of 0.5 is refused)."""
    return {kind: exact_map(limits) for kind, limits in authority.items()}


def _skill_names(skills: dict[str, int]) -> dict[str, int]:
    """Skills match case- and space-insensitively, as routing compares them."""
    return {name.strip().lower(): level for name, level in skills.items() if name.strip()}


Authority = Annotated[dict[ResolutionType, dict[Currency, Amount]], AfterValidator(_exact_authority)]

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
    skills: dict[SkillName, SkillLevel] = Field(default_factory=dict, max_length=100)
    capacity: dict[Channel, Capacity] = Field(default_factory=dict)
    authority: Authority = Field(default_factory=dict)
    status: AgentStatus = "offline"

    @field_validator("skills")
    @classmethod
    def _skill_names(cls, skills: dict[str, int]) -> dict[str, int]:
        return _skill_names(skills)


class AgentUpdate(BaseModel):
    """Only the fields given change; null clears the team and is a 422 for any other field."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"status": "available"}]})

    display_name: str | MISSING = Field(MISSING, min_length=1, max_length=200)
    team: str | MISSING | None = Field(MISSING, max_length=100)
    role: Role | MISSING = MISSING
    skills: dict[SkillName, SkillLevel] | MISSING = Field(MISSING, max_length=100)
    capacity: dict[Channel, Capacity] | MISSING = MISSING
    authority: Authority | MISSING = MISSING
    status: AgentStatus | MISSING = MISSING

    @field_validator("skills")
    @classmethod
    def _skill_names(cls, skills: dict[str, int]) -> dict[str, int]:
        return _skill_names(skills)


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

    @field_validator("authority")
    @classmethod
    def _written(cls, authority: dict[str, dict[str, Decimal]]) -> dict[str, dict[str, Decimal]]:
        return {kind: written_map(limits) for kind, limits in authority.items()}
