"""Events already on the bus after an erasure (decision 0031): with sealing on, the router's topics carry
the customer's words only as ciphertext whose key is gone, and knowledge and the notifier worked as before."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from services.embedded import SERVICES, build_embedded
from services.router.data_keys.models import CustomerDataKey
from shared.events.catalogue import catalogue
from shared.sealing import PREFIX
from tests.erasure_scenario import TRACES, erase, erased_everywhere, populate, traces_left
from tests.factories import ADMIN, service_settings
from tests.unit.conftest import Stack
from tests.unit.erasure.test_customer_erasure import clients

ROUTER_TOPICS = sorted({cls.topic.name for cls in catalogue() if cls.producer == "router"})


@pytest.fixture
async def sealing_stack(tmp_path: Path) -> AsyncIterator[Stack]:
    settings = [
        service_settings(name, data_dir=tmp_path, **({"seal_personal_fields": True} if name == "router" else {}))
        for name in SERVICES
    ]
    bus, runtimes, apps = build_embedded(settings)
    for runtime in runtimes:
        await runtime.start()
    clients = {
        runtime.name: httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=f"http://{runtime.name}", headers=ADMIN
        )
        for runtime, app in zip(runtimes, apps, strict=True)
    }
    yield Stack(bus, {runtime.name: runtime for runtime in runtimes}, clients)
    for client in clients.values():
        await client.aclose()
    for runtime in runtimes:
        await runtime.stop()
    await bus.stop()


def raw_records(stack: Stack, topics: list[str]) -> bytes:
    return b"\n".join(record.value or b"" for topic in topics for record in stack.bus.records(topic))


async def test_after_erasure_the_router_topics_hold_no_readable_trace_of_the_customer(sealing_stack: Stack) -> None:
    databases = {name: runtime.database for name, runtime in sealing_stack.runtimes.items()}
    customer = await populate(clients(sealing_stack), databases["notifier"])
    assert await traces_left(databases["knowledge"]), "knowledge must have opened the sealed fields"
    assert await traces_left(databases["notifier"]), "the notifier must have opened the sealed fields"
    on_bus = raw_records(sealing_stack, ROUTER_TOPICS)
    assert PREFIX.encode() in on_bus

    await erase(sealing_stack.router, customer)
    await erased_everywhere(clients(sealing_stack), customer)
    await sealing_stack.bus.wait_idle()

    on_bus = raw_records(sealing_stack, ROUTER_TOPICS)
    assert [value for value in TRACES if value.lower().encode() in on_bus.lower()] == []
    async with databases["router"].session() as session:
        keys = (await session.scalars(select(CustomerDataKey.wrapped_key))).all()
    assert keys == [None]
    assert {name: await traces_left(database) for name, database in databases.items()} == {
        "router": [],
        "knowledge": [],
        "notifier": [],
    }
    answer = await sealing_stack.router.get(f"/v1/customers/{customer.id}/data-key")
    assert answer.status_code == 410
