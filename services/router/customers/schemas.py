"""How callers identify a customer when they open a ticket."""

from __future__ import annotations

import re
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE_NOISE = re.compile(r"[\s().-]")
_PHONE = re.compile(r"^\+?[0-9]{6,15}$")


class CustomerRef(BaseModel):
    """Whatever the channel knows about the caller; at least one identity is required."""

    model_config = ConfigDict(extra="forbid")

    email: str | None = Field(None, max_length=320, examples=["ada@example.com"])
    phone: str | None = Field(None, max_length=40, examples=["+44 20 7946 0958"])
    external_id: str | None = Field(
        None,
        max_length=200,
        pattern=r"^[a-z0-9_.-]{1,40}:\S.*$",
        description="`system:id`, e.g. `helpdesk:4711` or `crm:ACC-1`",
        examples=["helpdesk:4711"],
    )
    name: str | None = Field(None, max_length=200, examples=["Ada Lovelace"])

    @field_validator("email")
    @classmethod
    def _normalise_email(cls, value: str | None) -> str | None:
        if value is None:
            return None
        email = value.strip().lower()
        if not _EMAIL.match(email):
            raise ValueError("not an email address")
        return email

    @field_validator("phone")
    @classmethod
    def _normalise_phone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        phone = _PHONE_NOISE.sub("", value)
        if not _PHONE.match(phone):
            raise ValueError("not a phone number")
        return phone

    @model_validator(mode="after")
    def _needs_an_identity(self) -> Self:
        if not (self.email or self.phone or self.external_id):
            raise ValueError("give at least one of email, phone or external_id")
        return self

    def identities(self) -> list[tuple[str, str]]:
        """(kind, normalised value) pairs, strongest first."""
        pairs = [("external_id", self.external_id), ("email", self.email), ("phone", self.phone)]
        return [(kind, value) for kind, value in pairs if value]
