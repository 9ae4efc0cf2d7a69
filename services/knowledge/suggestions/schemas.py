"""Suggestions as the router and agents read them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class TicketSuggestionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    ticket_id: uuid.UUID
    customer_id: uuid.UUID
    query: str
    articles: list[dict[str, Any]]
    opened_at: datetime
    received_at: datetime
