"""The intent classifier's API: examples in, models trained, texts classified."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.router.agents.schemas import SkillLevel, SkillName
from shared.events.catalogue import Priority, ResolutionType

IntentName = str


class ExampleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=5_000)
    intent: str = Field(min_length=1, max_length=100, pattern=r"^[\w.:-]+$")

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value


class ExamplesIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "examples": [
                        {"text": "my card payment was declined", "intent": "declined_card_payment"},
                        {"text": "where is my new card?", "intent": "card_arrival"},
                    ]
                }
            ]
        },
    )

    examples: list[ExampleIn] = Field(min_length=1, max_length=20_000)


class ExamplesAdded(BaseModel):
    added: int
    intents: dict[str, int] = Field(description="examples per intent, after this addition")


class ModelRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    status: str = Field(examples=["training", "ready", "failed"])
    example_count: int
    intent_count: int
    metrics: dict[str, Any]
    error: str | None
    requested_at: datetime
    trained_at: datetime | None


class ClassifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"text": "my card was refused"}]})

    text: str = Field(min_length=1, max_length=20_000)


class Alternative(BaseModel):
    intent: str
    score: float


class ClassifyOut(BaseModel):
    intent: str | None = Field(description="null means unknown: below the confidence threshold")
    confidence: float
    alternatives: list[Alternative]
    model_id: uuid.UUID | None


class ProfileIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"required_skills": {"cards": 2}, "likely_resolution": "refund", "priority": "high"}]
        },
    )

    required_skills: dict[SkillName, SkillLevel] = Field(default_factory=dict, max_length=20)
    likely_resolution: ResolutionType | None = None
    priority: Priority | None = Field(None, description="new tickets of this intent get at least this priority")


class ProfileRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    intent: str
    required_skills: dict[str, int]
    likely_resolution: str | None
    priority: str | None
    updated_at: datetime


class IntentSummary(BaseModel):
    intent: str
    examples: int
    profile: ProfileRead | None
