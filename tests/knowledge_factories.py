"""Builders for the knowledge service's test data: articles, a small support corpus, problem events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from services.knowledge.search.index import IndexedDocument
from shared.events.catalogue import (
    ProblemDetected,
    ProblemResolved,
    ProblemUpdated,
    ProblemUpdatedV2,
    TicketResolved,
    TicketUpdated,
)

# A small, fixed support corpus: (title, body, products, tags). Ranking tests name articles by title.
CORPUS: list[tuple[str, str, list[str], list[str]]] = [
    (
        "Card payment declined although the account has funds",
        "Online payments may be switched off for the card. Open the app, go to Card settings and turn on "
        "online payments. If the payment still fails, the merchant may not accept the card type.",
        ["debit-card"],
        ["payments"],
    ),
    (
        "Reset a forgotten password",
        "On the sign-in page choose Forgot password, enter the email of the account and follow the link we "
        "send you. The link expires after one hour.",
        ["app"],
        ["login"],
    ),
    (
        "Delete my account permanently",
        "Go to Settings, Privacy, then Delete account. Deleting is permanent after 14 days; until then you "
        "can cancel by signing in again. Export your data first if you want to keep it.",
        ["app"],
        ["privacy"],
    ),
    (
        "Export my statements as PDF",
        "Statements can be downloaded as PDF files from the Documents tab. Choose the month and press "
        "Download. Older statements are kept for seven years.",
        ["debit-card", "savings"],
        ["documents"],
    ),
    (
        "Change the delivery address of an order",
        "Before the order ships you can edit the delivery address under Orders. After shipping, contact the "
        "carrier with the tracking number to redirect the parcel.",
        ["shop"],
        ["orders"],
    ),
    (
        "Two-factor authentication codes are not arriving",
        "Text messages with codes can be delayed by the carrier. Check the phone number in your profile, or "
        "switch to an authenticator app for sign-in codes.",
        ["app"],
        ["login"],
    ),
    (
        "Return a damaged item for a refund",
        "Start a return from the order page within 30 days. Print the label, pack the item and drop it at "
        "any post office. The refund reaches your card within five working days of receipt.",
        ["shop"],
        ["returns"],
    ),
    (
        "Increase the daily card spending limit",
        "Limits can be raised in the app under Card settings, Limits. Large increases may need a confirmation "
        "by phone for your security.",
        ["debit-card"],
        ["payments"],
    ),
]


def corpus_documents() -> list[IndexedDocument]:
    """The corpus as index documents, with stable ids (uuid 1, 2, ...) so tie-breaks are predictable."""
    return [
        IndexedDocument(
            id=uuid.UUID(int=number),
            kind="article",
            version=1,
            title=title,
            body=body,
            products=tuple(products),
            tags=tuple(tags),
        )
        for number, (title, body, products, tags) in enumerate(CORPUS, start=1)
    ]


def article_request(**overrides: Any) -> dict[str, Any]:
    """A valid POST /v1/articles body (published), from the first corpus article; override any field."""
    title, body, products, tags = CORPUS[0]
    request: dict[str, Any] = {
        "title": title,
        "body": body,
        "tags": tags,
        "products": products,
        "locale": "en",
        "status": "published",
    }
    request.update(overrides)
    return request


def corpus_requests() -> list[dict[str, Any]]:
    return [
        article_request(title=title, body=body, products=products, tags=tags) for title, body, products, tags in CORPUS
    ]


def problem_detected(**overrides: Any) -> ProblemDetected:
    now = datetime.now(UTC)
    fields: dict[str, Any] = {
        "problem_id": uuid.uuid4(),
        "summary_text": "Card payments declined at checkout after the app update",
        "representative_reports": [
            "My card payment was declined at the checkout since the update",
            "Card declined when paying online, I have money on the account",
        ],
        "ticket_ids": [],
        "customer_count": 5,
        "report_count": 6,
        "first_seen": now,
        "last_seen": now,
        "products": ["debit-card"],
        "growth_per_hour": 3.0,
        "severity": "minor",
        "detected_at": now,
    }
    fields.update(overrides)
    return ProblemDetected(**fields)


def problem_updated(detected: ProblemDetected, joined: uuid.UUID, **overrides: Any) -> ProblemUpdatedV2:
    """The notifier's word that a ticket joined a problem: the picture and the joining ticket alone."""
    fields = detected.model_dump(exclude={"detected_at", "ticket_ids"})
    fields.update(
        {
            "change": "report_joined",
            "updated_at": datetime.now(UTC),
            "joined_ticket_id": joined,
            "added_ticket_ids": [joined],
        }
    )
    fields.update(overrides)
    return ProblemUpdatedV2(**fields)


def problem_updated_v1(detected: ProblemDetected, **overrides: Any) -> ProblemUpdated:
    """A version-1 update, every member listed, as the notifier published them before version 2."""
    fields = detected.model_dump(exclude={"detected_at"})
    fields.update({"change": "report_joined", "updated_at": datetime.now(UTC)})
    fields.update(overrides)
    return ProblemUpdated(**fields)


def problem_resolved(problem_id: uuid.UUID, **overrides: Any) -> ProblemResolved:
    fields: dict[str, Any] = {
        "problem_id": problem_id,
        "ticket_ids": [],
        "resolution": "Fixed in app version 4.2.1: card payments go through again.",
        "fix_version": "4.2.1",
        "resolved_at": datetime.now(UTC),
    }
    fields.update(overrides)
    return ProblemResolved(**fields)


def ticket_resolved(ticket_id: uuid.UUID, **overrides: Any) -> TicketResolved:
    fields: dict[str, Any] = {
        "ticket_id": ticket_id,
        "customer_id": uuid.uuid4(),
        "agent_id": uuid.uuid4(),
        "resolution_type": "answer",
        "first_contact": True,
        "resolved_at": datetime.now(UTC),
    }
    fields.update(overrides)
    return TicketResolved(**fields)


def ticket_updated(ticket_id: uuid.UUID, customer_id: uuid.UUID, **overrides: Any) -> TicketUpdated:
    fields: dict[str, Any] = {
        "ticket_id": ticket_id,
        "customer_id": customer_id,
        "subject": "Cannot sign in",
        "description": "The code to sign in never arrives on my phone.",
        "priority": "normal",
        "changed": ["description"],
        "updated_at": datetime.now(UTC),
    }
    fields.update(overrides)
    return TicketUpdated(**fields)
