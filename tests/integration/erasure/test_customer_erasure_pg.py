"""The right to erasure on the real stack: three services, each on its own PostgreSQL database, on Kafka.

After the erasure no text, varchar, JSON(B), bytea or array column of any table of any service's database
holds the customer's email, phone (in any spelling stored) or name: outbox, inbox and idempotency records
included, found through information_schema so that a table added later is searched too.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from services.knowledge import bootstrap as knowledge
from services.notifier import bootstrap as notifier
from services.router import bootstrap as router
from services.router.ledger.models import LedgerEntry
from shared.redaction import ERASED
from shared.runtime import ServiceRuntime
from tests.erasure_scenario import Clients, erase, erased_everywhere, populate, traces_left
from tests.factories import ADMIN, service_settings
from tests.stack import KAFKA, create_database, drop_database

pytestmark = pytest.mark.integration
SERVICES: dict[str, Any] = {"router": router, "knowledge": knowledge, "notifier": notifier}


@pytest.fixture
async def services(
    tmp_path: Path, topic_prefix: str
) -> AsyncIterator[dict[str, tuple[ServiceRuntime, httpx.AsyncClient]]]:
    """The three services, each with a fresh PostgreSQL database of its own, on one Kafka topic prefix."""
    names = {service: f"fc_test_{service}_{uuid.uuid4().hex[:8]}" for service in SERVICES}
    running: dict[str, tuple[ServiceRuntime, httpx.AsyncClient]] = {}
    try:
        for service, bootstrap in SERVICES.items():
            extra = {"detection_encoder": "none", "smtp_port": 1} if service == "notifier" else {}
            settings = service_settings(
                service,
                data_dir=tmp_path,
                database_url=await create_database(names[service]),
                bus="kafka",
                kafka_bootstrap_servers=KAFKA,
                kafka_topic_prefix=topic_prefix,
                **extra,
            )
            runtime = bootstrap.build_runtime(settings)
            await runtime.start()
            client = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=bootstrap.create_app(runtime, manage_runtime=False)),
                base_url=f"http://{service}",
                headers=ADMIN,
                timeout=30,
            )
            running[service] = (runtime, client)
        yield running
    finally:
        for runtime, client in running.values():
            await client.aclose()
            await runtime.stop()
        for name in names.values():
            await drop_database(name)


async def test_an_erased_customer_leaves_no_trace_in_any_table_of_any_service_on_postgresql(
    services: dict[str, tuple[ServiceRuntime, httpx.AsyncClient]],
) -> None:
    clients = Clients(services["router"][1], services["knowledge"][1], services["notifier"][1])
    databases = {name: runtime.database for name, (runtime, _) in services.items()}
    customer = await populate(clients, databases["notifier"], timeout=90)
    for name, database in databases.items():
        assert await traces_left(database), f"the scenario must put the values in {name} first"

    record = await erase(clients.router, customer, timeout=90)
    await erased_everywhere(clients, customer, timeout=90)
    for runtime, _ in services.values():
        await runtime.relay.flush(timeout=30)  # the router's outbox row of CustomerErased is rewritten too

    assert {name: await traces_left(database) for name, database in databases.items()} == {
        "router": [],
        "knowledge": [],
        "notifier": [],
    }
    assert record["erased"]["customer_identities"] == 2
    async with databases["router"].session() as session:
        [kept] = (await session.scalars(select(LedgerEntry))).all()
    assert (kept.amount, kept.currency, kept.reason, str(kept.customer_id)) == (
        Decimal("20.00"),
        "EUR",
        ERASED,
        customer.id,
    )
