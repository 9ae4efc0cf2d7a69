"""Builders for test data, in one place so every tier speaks the same language."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from services.knowledge.settings import KnowledgeSettings
from services.notifier.settings import NotifierSettings
from services.router.settings import RouterSettings
from shared.events.catalogue import TicketOpened
from shared.settings import DEVELOPMENT_ADMIN_KEY, ServiceSettings

# The bootstrap admin key every non-production service accepts; tests call as admin unless they test scopes.
ADMIN = {"Authorization": f"Bearer {DEVELOPMENT_ADMIN_KEY}"}

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


def agent_request(**overrides: Any) -> dict[str, Any]:
    """A valid POST /v1/agents body: an available payments agent who may credit up to 50 EUR."""
    body: dict[str, Any] = {
        "display_name": "Grace Hopper",
        "team": "payments",
        "role": "agent",
        "skills": {"cards": 3, "refunds": 3},
        "capacity": {"phone": 1, "chat": 2, "email": 5},
        "authority": {
            "credit": {"EUR": "50.00"},
            "refund": {"EUR": "200.00"},
            "return": {"EUR": "500.00"},
            "replacement": {"EUR": "300.00"},
        },
        "status": "available",
    }
    body.update(overrides)
    return body


def order_request(**overrides: Any) -> dict[str, Any]:
    """A valid POST /v1/orders body: one 120.00 EUR order placed yesterday by ada@example.com."""
    body: dict[str, Any] = {
        "customer": {"email": "ada@example.com"},
        "source": "shop",
        "external_ref": f"SO-{uuid.uuid4().hex[:8]}",
        "currency": "EUR",
        "lines": [
            {"sku": "KB-1", "description": "Keyboard", "quantity": 1, "unit_price": "100.00"},
            {"sku": "MS-2", "description": "Mouse", "quantity": 2, "unit_price": "10.00"},
        ],
        "ordered_at": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
    }
    body.update(overrides)
    return body
