"""Suggestions as the router and agents read them."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel

from shared.events.catalogue import KnownIssueRef, SuggestedArticle


class TicketSuggestionRead(BaseModel):
    ticket_id: uuid.UUID
    customer_id: uuid.UUID
    query: str
    articles: list[SuggestedArticle]
    known_issue: KnownIssueRef | None
    opened_at: datetime
    received_at: datetime
    computed_at: datetime | None
