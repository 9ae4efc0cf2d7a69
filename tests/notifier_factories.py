"""Builders for the notifier's tests: settings that run fast, reports from customers, and known issues."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from services.notifier.settings import NotifierSettings
from shared.events.catalogue import KnownIssueUpdated, TicketOpened
from tests.factories import service_settings

# Five customers, one outage, five ways to say it.
OUTAGE_REPORTS = (
    ("Checkout fails with payment error", "When I try to pay at checkout I get a payment error and nothing happens."),
    ("Payment error at checkout", "The checkout page shows an error when I pay with my card."),
    ("Can't pay - checkout error", "Every time I try paying, checkout throws an error. Card is fine."),
    ("checkout payment not going through", "Payment fails at the checkout step with an error message."),
    ("Error when paying in checkout", "I get an error message on checkout, my payment never completes."),
)
UNRELATED_REPORTS = (
    ("Change my delivery address", "I moved last week and need my parcel sent to the new address."),
    ("Password reset email never arrives", "I asked for a password reset three times and got no email."),
    ("Wrong size delivered", "I ordered a medium jacket and received a small one."),
)


def fast_settings(data_dir: Path, **overrides: Any) -> NotifierSettings:
    """Notifier settings for tests: SQLite under data_dir, the in-memory bus, deliveries retried at once."""
    values: dict[str, Any] = {
        "delivery_backoff_initial_seconds": 0.05,
        "delivery_backoff_max_seconds": 0.2,
        "delivery_poll_interval_ms": 20,
        "delivery_timeout_seconds": 2,
        "delivery_lease_seconds": 10,
        "delivery_max_attempts": 3,
        "circuit_failure_threshold": 50,
        "webhook_allow_http": True,
        "smtp_port": 1,
    }
    values.update(overrides)
    settings = service_settings("notifier", data_dir=data_dir, **values)
    assert isinstance(settings, NotifierSettings)
    return settings


def report(
    subject: str,
    description: str = "",
    *,
    customer_id: uuid.UUID | None = None,
    opened_at: datetime | None = None,
    **overrides: Any,
) -> TicketOpened:
    """A TicketOpened from a new customer (unless one is given), opened now (unless told)."""
    fields: dict[str, Any] = {
        "ticket_id": uuid.uuid4(),
        "customer_id": customer_id or uuid.uuid4(),
        "customer_name": "Ada",
        "channel": "email",
        "subject": subject,
        "description": description,
        "priority": "normal",
        "opened_at": opened_at or datetime.now(UTC),
    }
    fields.update(overrides)
    return TicketOpened(**fields)


def outage(
    count: int = 5, *, start: datetime | None = None, every: timedelta = timedelta(minutes=1)
) -> list[TicketOpened]:
    """`count` customers reporting the checkout outage in their own words, `every` apart."""
    start = start or datetime.now(UTC) - every * count
    return [
        report(subject, description, opened_at=start + every * i, customer_name=f"Customer {i + 1}")
        for i, (subject, description) in enumerate(OUTAGE_REPORTS[i % len(OUTAGE_REPORTS)] for i in range(count))
    ]


def known_issue(problem_id: uuid.UUID, *, revision: int = 1, **overrides: Any) -> KnownIssueUpdated:
    """Knowledge's word on a problem: a workaround and the version expected to fix it."""
    fields: dict[str, Any] = {
        "known_issue_id": uuid.uuid4(),
        "revision": revision,
        "problem_id": problem_id,
        "title": "Checkout payment errors",
        "symptoms": "Payment fails at checkout",
        "status": "workaround_available",
        "workaround": "Pay with PayPal until the fix ships.",
        "fix_version": "2.4.1",
        "updated_at": datetime.now(UTC),
    }
    fields.update(overrides)
    return KnownIssueUpdated(**fields)


def numbered_reports(count: int) -> list[TicketOpened]:
    """`count` reports from new customers, the outage and unrelated texts in turn, each subject numbered."""
    texts = [*OUTAGE_REPORTS, *UNRELATED_REPORTS]
    return [
        report(f"{subject} (case {i})", description)
        for i, (subject, description) in enumerate(texts[i % len(texts)] for i in range(count))
    ]
