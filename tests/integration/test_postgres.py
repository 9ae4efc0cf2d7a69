"""PostgreSQL specifics: migrations, replicas racing on the outbox, idempotency keys and the inbox."""

from __future__ import annotations

import asyncio
import importlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event, func, inspect, select

from services.router.customers.models import Customer, CustomerIdentity
from services.router.tickets.models import Ticket
from shared.bus.factory import physical_topics
from shared.bus.memory import InMemoryBus
from shared.db import Database
from shared.events.catalogue import TicketOpened
from shared.events.envelope import CloudEvent, from_kafka
from shared.events.topics import TICKETS
from shared.inserts import stage_new
from shared.messaging.inbox import EventDispatcher
from shared.messaging.outbox import OutboxRelay, add_events
from shared.messaging.tables import inbox, outbox
from shared.metrics import ServiceMetrics
from shared.migrations import upgrade_to_head
from shared.runtime import ServiceRuntime
from tests.factories import ADMIN, service_settings, ticket_opened, ticket_request

pytestmark = pytest.mark.integration


@pytest.fixture
async def database(pg_url: str) -> AsyncIterator[Database]:
    database = Database(pg_url)
    yield database
    await database.dispose()


@pytest.mark.parametrize("service", ["router", "knowledge", "notifier"])
async def test_migrations_build_the_schema_and_can_run_again_concurrently(database: Database, service: str) -> None:
    migrations = Path(importlib.import_module(f"services.{service}.bootstrap").MIGRATIONS)
    others = [Database(database.url.render_as_string(False)) for _ in range(2)]
    # Three replicas starting at once: the advisory lock makes them take turns.
    await asyncio.gather(*(upgrade_to_head(db, migrations) for db in [database, *others]))
    for db in others:
        await db.dispose()
    async with database.engine.connect() as conn:
        tables = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    assert {"outbox", "inbox", "idempotency_keys", "alembic_version"} <= tables


@pytest.fixture
async def router(tmp_path: Path, pg_url: str) -> AsyncIterator[tuple[ServiceRuntime, httpx.AsyncClient]]:
    bootstrap = importlib.import_module("services.router.bootstrap")
    settings = service_settings("router", data_dir=tmp_path, database_url=pg_url)
    runtime = bootstrap.build_runtime(settings, bus=InMemoryBus(physical_topics(settings)))
    await runtime.start()
    app = bootstrap.create_app(runtime, manage_runtime=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://router", headers=ADMIN
    ) as client:
        yield runtime, client
    await runtime.stop()


async def count(database: Database, table: Any) -> int:
    async with database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


async def test_concurrent_retries_with_one_idempotency_key_open_one_ticket_with_one_event(
    router: tuple[ServiceRuntime, httpx.AsyncClient],
) -> None:
    runtime, client = router
    headers = {"Idempotency-Key": "ivr-retry-storm"}
    responses = await asyncio.gather(
        *(client.post("/v1/tickets", json=ticket_request(), headers=headers) for _ in range(8))
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert await count(runtime.database, Ticket) == 1
    async with runtime.database.session() as session:
        opened = select(func.count()).select_from(outbox).where(outbox.c.event_type == "firstcall.ticket.opened")
        assert await session.scalar(opened) == 1


async def test_concurrent_tickets_from_a_new_customer_create_one_customer(
    router: tuple[ServiceRuntime, httpx.AsyncClient],
) -> None:
    runtime, client = router
    body = ticket_request(customer={"email": "first.time@example.com"})
    responses = await asyncio.gather(*(client.post("/v1/tickets", json=body) for _ in range(6)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["customer_id"] for r in responses}) == 1
    assert await count(runtime.database, Customer) == 1
    assert await count(runtime.database, Ticket) == 6


async def test_two_relays_on_one_database_publish_every_event_exactly_once(tmp_path: Path, pg_url: str) -> None:
    database = Database(pg_url)
    await upgrade_to_head(database, Path(importlib.import_module("services.notifier.bootstrap").MIGRATIONS))
    bus = InMemoryBus([TICKETS])
    relays = [
        OutboxRelay(database=Database(pg_url), bus=bus, metrics=ServiceMetrics("it"), batch_size=7) for _ in range(2)
    ]
    staged = []
    for _ in range(10):
        async with database.session() as session:
            staged += await add_events(session, *(ticket_opened() for _ in range(10)))
            await session.commit()

    async def drain(relay: OutboxRelay) -> None:
        while await relay.pending():
            await relay.publish_batch()

    await asyncio.gather(*(drain(relay) for relay in relays))
    published = [from_kafka(r.value, r.headers).id for r in bus.records(TICKETS.name)]
    assert sorted(published) == sorted(e.id for e in staged)
    for relay in relays:
        await relay.database.dispose()
    await database.dispose()


async def test_an_idle_relay_waits_instead_of_spinning(tmp_path: Path, pg_url: str) -> None:
    database = Database(pg_url)
    await upgrade_to_head(database, Path(importlib.import_module("services.notifier.bootstrap").MIGRATIONS))
    relay = OutboxRelay(database=database, bus=InMemoryBus([TICKETS]), metrics=ServiceMetrics("it"), poll_interval=0.1)
    cycles = 0
    original = relay.publish_batch

    async def counted() -> int:
        nonlocal cycles
        cycles += 1
        return await original()

    relay.publish_batch = counted  # type: ignore[method-assign]
    await relay.start()
    await asyncio.sleep(1.0)
    await relay.stop()
    await database.dispose()
    # One cycle per poll interval (about 10 in a second); a relay woken by its own commits runs thousands.
    assert 3 <= cycles <= 30


async def test_two_replicas_handling_the_same_event_at_once_have_one_effect(pg_url: str) -> None:
    database = Database(pg_url)
    await upgrade_to_head(database, Path(importlib.import_module("services.notifier.bootstrap").MIGRATIONS))
    inside = asyncio.Event()
    effects = 0

    async def effect(event: TicketOpened, session: Any) -> None:
        nonlocal effects
        effects += 1
        inside.set()
        await asyncio.sleep(0.3)  # the other replica claims the same event while this one is mid-transaction
        await add_events(session, event)

    replicas = [
        EventDispatcher(
            group="notifier", database=Database(pg_url), handlers={TicketOpened: effect}, metrics=ServiceMetrics("it")
        )
        for _ in range(2)
    ]
    envelope = ticket_opened().to_cloudevent()
    first = asyncio.create_task(replicas[0](envelope))
    await inside.wait()
    await asyncio.wait_for(asyncio.gather(first, replicas[1](envelope)), timeout=20)
    assert effects == 1
    assert await count(database, inbox) == 1
    assert await count(database, outbox) == 1
    for replica in replicas:
        await replica.database.dispose()
    await database.dispose()


async def test_staged_rows_of_several_tables_leave_in_one_statement_and_keep_their_order(database: Database) -> None:
    bootstrap = importlib.import_module("services.router.bootstrap")
    await upgrade_to_head(database, Path(bootstrap.MIGRATIONS))
    now = datetime.now(UTC)
    customer = Customer(id=uuid.uuid4(), display_name="Ada", created_at=now)
    identities = [
        CustomerIdentity(
            id=uuid.uuid4(), customer_id=customer.id, kind="email", value=f"ada{n}@example.com", created_at=now
        )
        for n in range(2)
    ]
    inserts: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("INSERT", "WITH")):
            inserts.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", record)
    async with database.session() as session:
        # Children before their parent: the foreign keys are checked at the end of the one statement.
        stage_new(session, *identities, customer)
        await add_events(session, *(ticket_opened(subject=f"event {n}") for n in range(3)))
        await session.commit()
    event.remove(database.engine.sync_engine, "before_cursor_execute", record)

    assert len(inserts) == 1
    async with database.session() as session:
        envelopes = (await session.scalars(select(outbox.c.envelope).order_by(outbox.c.seq))).all()
        subjects = [CloudEvent.from_json(envelope).data["subject"] for envelope in envelopes]
        assert subjects == ["event 0", "event 1", "event 2"]
        assert await session.scalar(select(func.count()).select_from(CustomerIdentity)) == 2
