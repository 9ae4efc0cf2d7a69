"""Opening a ticket on PostgreSQL with sealing on: a new customer's key rides in the ticket's one INSERT,
sent without BEGIN or COMMIT (decisions 0038, 0043)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import event, func, select

from services.router.data_keys.models import CustomerDataKey
from services.router.tickets.models import Ticket
from shared.events.catalogue import TicketOpened
from shared.messaging.tables import outbox
from shared.sealing import open_data
from tests.factories import ticket_request
from tests.integration.router.replicas import Replica, router_replicas

pytestmark = pytest.mark.integration


@pytest.fixture
async def sealing_router(tmp_path: Path, pg_url: str) -> AsyncIterator[Replica]:
    async with router_replicas(tmp_path, pg_url, count=1, sla_check_seconds=3600, seal_personal_fields=True) as one:
        yield one[0]


async def test_a_new_customers_ticket_and_key_are_one_statement_outside_a_transaction(
    sealing_router: Replica,
) -> None:
    runtime, client = sealing_router
    sent: list[tuple[str, bool]] = []

    def record(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "customer_data_keys" in statement:
            sent.append((statement.split(maxsplit=1)[0].upper(), bool(conn.connection.dbapi_connection.autocommit)))

    event.listen(runtime.database.engine.sync_engine, "before_cursor_execute", record)
    opened = await client.post("/v1/tickets", json=ticket_request())
    event.remove(runtime.database.engine.sync_engine, "before_cursor_execute", record)
    assert opened.status_code == 201, opened.text

    # One statement names the keys table: the combined INSERT (WITH ... INSERT), sent alone.
    assert sent == [("WITH", True)]
    async with runtime.database.session() as session:
        assert await session.scalar(select(func.count()).select_from(CustomerDataKey)) == 1
        ticket = await session.get(Ticket, opened.json()["id"])
    assert ticket is not None
    answer = await client.get(f"/v1/customers/{opened.json()['customer_id']}/data-key")
    assert answer.status_code == 200, answer.text
    async with runtime.database.session() as session:
        stored = await session.scalar(
            select(outbox.c.envelope).where(outbox.c.event_type == TicketOpened.cloudevent_type())
        )
    assert stored is not None
    data = open_data(orjson.loads(stored)["data"], base64.b64decode(answer.json()["key"]))
    assert data["customer_name"] == "Ada Lovelace"
