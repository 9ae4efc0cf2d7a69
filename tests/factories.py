"""Builders for test data, in one place so every tier speaks the same language."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from services.knowledge.settings import KnowledgeSettings
from services.notifier.settings import NotifierSettings
from services.router.settings import RouterSettings
from shared.events.catalogue import TicketOpened
from shared.settings import ServiceSettings

SETTINGS_CLASSES: dict[str, type[ServiceSettings]] = {
    "router": RouterSettings,
    "knowledge": KnowledgeSettings,
    "notifier": NotifierSettings,
}


def ticket_request(**overrides: Any) -> dict[str, Any]:
    """A valid POST /v1/tickets body; override any top-level field."""
    body: dict[str, Any] = {
        "customer": {"email": "ada@example.com", "name": "Ada Lovelace"},
        "channel": "phone",
        "subject": "Card payment declined",
        "description": "My card was declined at the checkout although I have funds.",
        "priority": "normal",
        "attributes": {"product": "debit-card"},
    }
    body.update(overrides)
    return body


def ticket_opened(**overrides: Any) -> TicketOpened:
    """A TicketOpened event as the router would publish it."""
    fields: dict[str, Any] = {
        "ticket_id": uuid.uuid4(),
        "customer_id": uuid.uuid4(),
        "channel": "email",
        "subject": "Cannot log in",
        "description": "The app says my password is wrong since this morning.",
        "priority": "normal",
        "opened_at": datetime.now(UTC),
    }
    fields.update(overrides)
    return TicketOpened(**fields)


def service_settings(service: str, *, data_dir: Path, **overrides: Any) -> ServiceSettings:
    """Settings for one service in tests: test environment, text logs, files under `data_dir`."""
    values: dict[str, Any] = {
        "environment": "test",
        "data_dir": data_dir,
        "database_url": "sqlite+aiosqlite:///{data_dir}/{service}.db",
        "bus": "memory",
        "log_format": "text",
        "consumer_retry_backoff_ms": 10,
        "outbox_poll_interval_ms": 50,
        "shutdown_grace_seconds": 5,
    }
    values.update(overrides)
    return SETTINGS_CLASSES[service](**values)
