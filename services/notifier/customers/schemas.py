"""Customer preferences and message templates as the API reads and writes them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import MISSING, BaseModel, ConfigDict, EmailStr, Field
from pydantic.config import JsonDict

TemplateName = Literal["acknowledgement", "resolution"]
_TEMPLATE_EXAMPLE: JsonDict = {
    "name": "acknowledgement",
    "subject": "We are on it: {{ ticket_subject }}",
    "body": "Hello {{ customer_name }},\n\n{{ other_customers }} other customers reported this too.",
    "revision": 2,
    "updated_at": "2026-11-24T09:00:00Z",
    "variables": ["customer_name", "ticket_subject", "other_customers", "workaround"],
}


class PreferencesUpdate(BaseModel):
    """Only the fields sent change. Null forgets the email, or the preferred channel (then: email when known,
    else the contact center); an opt-out is true or false, never null (`X | MISSING`: may be left out)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"opted_out": True}]})

    email: Annotated[EmailStr, Field(max_length=254)] | MISSING | None = MISSING
    preferred_channel: Literal["email", "webhook"] | MISSING | None = MISSING
    opted_out: bool | MISSING = MISSING


class CustomerPreferencesRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "customer_id": "c1a2b3d4-e5f6-4a7b-8c9d-0e1f2a3b4c50",
                    "name": "Ada Lovelace",
                    "email": "ada@example.com",
                    "preferred_channel": "email",
                    "opted_out": False,
                    "updated_at": "2026-11-24T09:12:00Z",
                }
            ]
        },
    )

    customer_id: uuid.UUID
    name: str | None
    email: str | None
    preferred_channel: str | None
    opted_out: bool
    updated_at: datetime


class TemplateUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "subject": "We are on it: {{ ticket_subject }}",
                    "body": "Hello {{ customer_name }},\n\n{{ other_customers }} other customers reported "
                    '"{{ ticket_subject }}" too. {% if workaround %}Until it is fixed: {{ workaround }}{% endif %}',
                }
            ]
        },
    )

    subject: str = Field(min_length=1, max_length=500, description="Jinja template of the subject line")
    body: str = Field(min_length=1, max_length=20_000, description="Jinja template of the message body")


class TemplateRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_TEMPLATE_EXAMPLE]})

    name: TemplateName
    subject: str
    body: str
    revision: int = Field(description="0 while the built-in default applies")
    updated_at: datetime | None
    variables: list[str] = Field(description="what a template can use")


class TemplateList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_TEMPLATE_EXAMPLE]}]})

    items: list[TemplateRead]
