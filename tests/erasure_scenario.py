"""A customer with something in every corner of the three services, erased, and the search for what is left.

Shared by the unit tier (SQLite, in-memory bus) and the integration tier (PostgreSQL, Kafka).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

import httpx
from sqlalchemy import text

from services.notifier.delivery.models import Delivery, DeliveryAttempt
from shared.db import Database
from tests.conftest import wait_until
from tests.factories import agent_request, order_request, ticket_request
from tests.knowledge_factories import article_request

EMAIL = "ada.erasure@example.com"
PHONE = "+44 20 7946 0958"
NAME = "Augusta Ada Lovelace"
# Every way the phone is (or might be) stored: E.164, international, national, bare digits.
PHONE_SPELLINGS = ("+442079460958", "+44 20 7946 0958", "020 7946 0958", "2079460958", "442079460958")
TRACES = (EMAIL, NAME, *PHONE_SPELLINGS)


@dataclass
class Clients:
    router: httpx.AsyncClient
    knowledge: httpx.AsyncClient
    notifier: httpx.AsyncClient


@dataclass
class Customer:
    id: str
    tickets: list[str]


async def populate(clients: Clients, notifier_db: Database, *, timeout: float = 30.0) -> Customer:
    """The customer's tickets, note, order and credit; knowledge's suggestions; the notifier's report,
    contact and a delivery to them."""
    router = clients.router
    agent = (await router.post("/v1/agents", json=agent_request(capacity={"phone": 3, "chat": 3}))).json()
    caller = {"email": EMAIL, "phone": PHONE, "name": NAME}
    description = f"Card declined. Call me on {PHONE} or write to {EMAIL}, {NAME}."
    first = await router.post(
        "/v1/tickets",
        json=ticket_request(customer=caller, description=description),
        headers={"Idempotency-Key": f"erasure-{uuid.uuid4()}"},
    )
    assert first.status_code == 201, first.text
    second = await router.post("/v1/tickets", json=ticket_request(customer={"phone": PHONE}, channel="chat"))
    tickets = [first.json()["id"], second.json()["id"]]
    customer_id = first.json()["customer_id"]
    assert second.json()["customer_id"] == customer_id
    note = await router.post(
        f"/v1/tickets/{tickets[0]}/notes", json={"body": f"Spoke with {NAME} at {PHONE}", "agent_id": agent["id"]}
    )
    assert note.status_code == 201, note.text
    order = await router.post("/v1/orders", json=order_request(customer={"email": EMAIL}))
    assert order.status_code == 201, order.text
    credit = await router.post(
        f"/v1/tickets/{tickets[0]}/resolutions",
        json={
            "type": "credit",
            "amount": "20.00",
            "currency": "EUR",
            "reason": f"goodwill for {NAME}",
            "agent_id": agent["id"],
            "order_id": order.json()["id"],
        },
    )
    assert credit.status_code == 201, credit.text
    for ticket_id in tickets:
        await wait_until(partial(_found, clients.knowledge, f"/v1/tickets/{ticket_id}/suggestions"), timeout=timeout)
        await wait_until(partial(_found, clients.notifier, f"/v1/reports/{ticket_id}"), timeout=timeout)
    await _feedback_on(clients.knowledge, tickets[0])
    await wait_until(lambda: _contact_known(notifier_db, customer_id), timeout=timeout)
    await _delivered_to(notifier_db, customer_id, tickets[0])
    return Customer(customer_id, tickets)


async def erase(router: httpx.AsyncClient, customer: Customer, *, timeout: float = 30.0) -> dict[str, Any]:
    """Ask for the erasure and wait until the router has done its part."""
    response = await router.request(
        "DELETE", f"/v1/customers/{customer.id}", json={"reason": "GDPR art. 17, ref. DPO-114"}
    )
    assert response.status_code == 202, response.text
    erasure_id = response.json()["id"]

    async def completed() -> dict[str, Any] | None:
        record: dict[str, Any] = (await router.get(f"/v1/erasures/{erasure_id}")).json()
        return record if record["status"] == "completed" else None

    return await wait_until(completed, timeout=timeout)


async def erased_everywhere(clients: Clients, customer: Customer, *, timeout: float = 30.0) -> None:
    """Wait until knowledge and the notifier have handled CustomerErased."""
    for ticket_id in customer.tickets:
        await wait_until(partial(_gone, clients.knowledge, f"/v1/tickets/{ticket_id}/suggestions"), timeout=timeout)
        await wait_until(partial(_blank_report, clients.notifier, ticket_id), timeout=timeout)


async def traces_left(database: Database) -> list[str]:
    """`table.column: value` for every personal value still found in any text, JSON or binary column."""
    found: list[str] = []
    async with database.engine.connect() as connection:
        for table, column in await _searchable_columns(connection, database.is_sqlite):
            shown = (
                f'CAST("{column}" AS TEXT)'
                if database.is_sqlite
                else _pg_text(column, await _pg_type(connection, table, column))
            )
            for value in TRACES:
                hits = await connection.scalar(
                    text(f'SELECT count(*) FROM "{table}" WHERE lower({shown}) LIKE :needle'),
                    {"needle": f"%{value.lower()}%"},
                )
                if hits:
                    found.append(f"{table}.{column}: {value}")
    return found


async def _searchable_columns(connection: Any, sqlite: bool) -> list[tuple[str, str]]:
    if sqlite:
        tables = (await connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))).scalars().all()
        return [
            (table, row[1])
            for table in tables
            for row in (await connection.execute(text(f'PRAGMA table_info("{table}")'))).all()
            if not any(kind in str(row[2]).upper() for kind in ("INT", "FLOAT", "REAL", "NUMERIC", "BOOL", "DATETIME"))
        ]
    rows = await connection.execute(
        text(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND data_type IN ('text', 'character varying', 'character', 'json', 'jsonb', 'bytea', 'ARRAY')"
        )
    )
    return [(row[0], row[1]) for row in rows]


async def _pg_type(connection: Any, table: str, column: str) -> str:
    return str(
        await connection.scalar(
            text("SELECT data_type FROM information_schema.columns WHERE table_name = :t AND column_name = :c"),
            {"t": table, "c": column},
        )
    )


def _pg_text(column: str, data_type: str) -> str:
    return f"encode(\"{column}\", 'escape')" if data_type == "bytea" else f'"{column}"::text'


async def _feedback_on(knowledge: httpx.AsyncClient, ticket_id: str) -> None:
    """An agent's verdict on an article for the ticket: knowledge copies the ticket's words into it."""
    article = await knowledge.post("/v1/articles", json=article_request())
    assert article.status_code == 201, article.text
    feedback = await knowledge.post(
        f"/v1/articles/{article.json()['id']}/feedback",
        json={"outcome": "helpful", "ticket_id": ticket_id, "comment": f"{NAME} was pleased"},
        headers={"Idempotency-Key": f"feedback-{uuid.uuid4()}"},
    )
    assert feedback.status_code == 201, feedback.text
    assert EMAIL in feedback.json()["query"], "the feedback must hold the ticket's words"


async def _found(client: httpx.AsyncClient, path: str) -> bool:
    return (await client.get(path)).status_code == 200


async def _gone(client: httpx.AsyncClient, path: str) -> bool:
    return (await client.get(path)).status_code == 404


async def _blank_report(client: httpx.AsyncClient, ticket_id: str) -> bool:
    response = await client.get(f"/v1/reports/{ticket_id}")
    return response.status_code == 404 or EMAIL not in response.text


async def _contact_known(database: Database, customer_id: str) -> bool:
    async with database.engine.connect() as connection:
        email = await connection.scalar(
            text("SELECT email FROM customer_contacts WHERE customer_id = :id"),
            {"id": uuid.UUID(customer_id).hex if database.is_sqlite else uuid.UUID(customer_id)},
        )
    return bool(email == EMAIL)


async def _delivered_to(database: Database, customer_id: str, ticket_id: str) -> None:
    """A notification e-mail to the customer as the delivery worker keeps it: address, body, a failed try."""
    now = datetime.now(UTC)
    delivery = Delivery(
        id=uuid.uuid4(),
        dedupe_key=f"ack:{ticket_id}",
        channel="email",
        endpoint=EMAIL,
        event_type="notification.customer_notified",
        payload=json.dumps({"to": EMAIL, "body": f"Dear {NAME}, we are on it."}).encode(),
        customer_id=uuid.UUID(customer_id),
        ticket_id=uuid.UUID(ticket_id),
        notification_kind="acknowledgement",
        status="sent",
        attempts=2,
        next_attempt_at=now,
        created_at=now,
        sent_at=now,
    )
    async with database.session() as session:
        session.add(delivery)
        await session.flush()
        session.add(
            DeliveryAttempt(
                delivery_id=delivery.id,
                attempt=1,
                started_at=now,
                duration_ms=3.0,
                outcome="failed",
                error=f"550 mailbox {EMAIL} full",
            )
        )
        await session.commit()
