"""Suggestions as the router and agents read them."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from shared.events.catalogue import KnownIssueRef, SuggestedArticle


class TicketSuggestionRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "ticket_id": "5f0c2f1e-3d2a-4f7e-9a59-0a6c1f3b2d10",
                    "customer_id": "c1a2b3d4-e5f6-4a7b-8c9d-0e1f2a3b4c50",
                    "query": "Card declined at checkout but I have money on the account",
                    "articles": [
                        {
                            "article_id": "3f2b8c1e-6d4a-4e0f-9b7c-2a1d5e8f4c30",
                            "article_version": 2,
                            "title": "Card payment declined although the account has funds",
                            "snippet": "The card's online payments are off.",
                            "score": 0.82,
                        }
                    ],
                    "known_issue": {
                        "known_issue_id": "5c7e9a1b-2d4f-4a6c-8e0b-1d3f5a7c9e20",
                        "title": "Card payments declined after the 4.2 app update",
                        "status": "fix_available",
                        "workaround": "Pay with the card's number instead of the wallet.",
                        "fix": "Update the app to 4.2.1: wallet payments go through again.",
                        "problem_id": "0b6f3a52-8a7e-4d47-9f0e-3c2d1a4b5e60",
                    },
                    "opened_at": "2026-11-24T10:01:12Z",
                    "received_at": "2026-11-24T10:01:12.250000Z",
                    "computed_at": "2026-11-24T10:01:12.310000Z",
                }
            ]
        }
    )

    ticket_id: uuid.UUID
    customer_id: uuid.UUID
    query: str
    articles: list[SuggestedArticle]
    known_issue: KnownIssueRef | None
    opened_at: datetime
    received_at: datetime
    computed_at: datetime | None
