"""Desktop webhooks as contact-center software and agents create and read them (the secret is shown once)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, StringConstraints, UrlConstraints
from pydantic.config import JsonDict

Audience = Literal["agent", "team", "center"]
# The catalogue names of the router's events a desktop hears of (the SSE stream's `event`, too).
DesktopEventType = Literal[
    "ticket.assigned",
    "ticket.transferred",
    "resolution.approval_decided",
    "ticket.sla_at_risk",
    "ticket.sla_breached",
    "customer.owner_changed",
    "ticket.problem_linked",
]
DESKTOP_EVENT_TYPES: dict[DesktopEventType, str] = {
    "ticket.assigned": "A ticket was assigned to the agent.",
    "ticket.transferred": "A ticket was transferred to (or away from) the agent.",
    "resolution.approval_decided": "A supervisor decided an approval the agent asked for.",
    "ticket.sla_at_risk": "The first response on the agent's ticket is due soon.",
    "ticket.sla_breached": "The first response on the agent's ticket is overdue (escalated).",
    "customer.owner_changed": "The agent became (or stopped being) a customer's owner: the handoff briefing.",
    "ticket.problem_linked": "An open ticket of the agent's is one of many customers' reports of a problem.",
}
Team = Annotated[str, StringConstraints(min_length=1, max_length=100, strip_whitespace=True)]

_EXAMPLE: JsonDict = {
    "id": "0b7f7a8e-1f43-4b8e-9d1c-6f5d2a7c9e10",
    "audience": "agent",
    "agent_id": "524452cc-120c-410c-86a3-33d75f079652",
    "team": None,
    "url": "https://desktop.example.com/hooks/firstcall",
    "event_types": ["ticket.assigned", "ticket.sla_at_risk"],
    "description": "Grace's desktop",
    "active": True,
    "created_at": "2026-12-07T10:00:00Z",
}


class DesktopWebhookCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "audience": "agent",
                    "agent_id": "524452cc-120c-410c-86a3-33d75f079652",
                    "url": "https://desktop.example.com/hooks/firstcall",
                    "event_types": ["ticket.assigned", "ticket.sla_at_risk"],
                    "description": "Grace's desktop",
                }
            ]
        },
    )

    audience: Audience = Field(
        description="`agent`: what concerns one agent (`agent_id`); `team`: what concerns any agent of `team`; "
        "`center`: every such event of the contact center"
    )
    agent_id: uuid.UUID | None = Field(None, description="the agent, for the `agent` audience (and only then)")
    team: Team | None = Field(None, description="the agents' team, for the `team` audience (and only then)")
    url: Annotated[AnyHttpUrl, UrlConstraints(max_length=2083)] = Field(
        description="where deliveries are POSTed (https outside development)"
    )
    event_types: list[DesktopEventType] = Field(
        min_length=1,
        max_length=len(DESKTOP_EVENT_TYPES),
        description="; ".join(f"`{name}`: {meaning}" for name, meaning in DESKTOP_EVENT_TYPES.items()),
    )
    description: str | None = Field(None, max_length=500)


class DesktopWebhookRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_EXAMPLE]})

    id: uuid.UUID
    audience: Audience
    # Not required in the document, only so that its examples (from which FastAPI drops nulls) validate:
    # every answer carries them, null when they do not apply.
    agent_id: uuid.UUID | None = None
    team: str | None = None
    url: str
    event_types: list[str]
    description: str | None = None
    active: bool
    created_at: datetime


class DesktopWebhookCreated(DesktopWebhookRead):
    """The subscription with its signing secret, which no later answer shows again."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{**_EXAMPLE, "secret": "whsec_Jm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eA"}]}
    )

    secret: str = Field(description="HMAC-SHA256 key of the `X-Firstcall-Signature` header; shown only here")


class DesktopWebhookPage(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_EXAMPLE], "next_cursor": None}]})

    items: list[DesktopWebhookRead]
    next_cursor: str | None = Field(None, description="pass as `cursor` for the next page; null on the last")
