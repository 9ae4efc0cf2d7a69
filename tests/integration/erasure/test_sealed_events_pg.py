"""Events already on Kafka after an erasure, on the real stack (decision 0031): with the router sealing
personal fields, the raw records of every topic the router publishes hold none of the customer's email,
phone or name once they are erased, and no table of any service holds their key any more.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from services.knowledge import bootstrap as knowledge
from services.notifier import bootstrap as notifier
from services.router import bootstrap as router
from shared.data_keys import ask_router_in_process
from shared.db import Database
from shared.events.catalogue import catalogue
from shared.runtime import ServiceRuntime
from shared.sealing import PREFIX
from tests.erasure_scenario import TRACES, Clients, erase, erased_everywhere, populate, traces_left
from tests.factories import ADMIN, service_settings
from tests.stack import KAFKA, create_database, drop_database, read_topic

pytestmark = pytest.mark.integration
SERVICES: dict[str, Any] = {"router": router, "knowledge": knowledge, "notifier": notifier}
ROUTER_TOPICS = sorted({cls.topic.name for cls in catalogue() if cls.producer == "router"})


@pytest.fixture
async def services(
    tmp_path: Path, topic_prefix: str
) -> AsyncIterator[dict[str, tuple[ServiceRuntime, httpx.AsyncClient]]]:
    """The three services on their own PostgreSQL databases and one Kafka prefix, the router sealing."""
    names = {service: f"fc_test_{service}_{uuid.uuid4().hex[:8]}" for service in SERVICES}
    built: dict[str, tuple[ServiceRuntime, FastAPI]] = {}
    running: dict[str, tuple[ServiceRuntime, httpx.AsyncClient]] = {}
    try:
        for service, bootstrap in SERVICES.items():
            extra: dict[str, Any] = {"detection_encoder": "none", "smtp_port": 1} if service == "notifier" else {}
            if service == "router":
                extra["seal_personal_fields"] = True
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
            built[service] = (runtime, bootstrap.create_app(runtime, manage_runtime=False))
        # No router listens on a port here: the services ask its app in process, as embedded mode does.
        ask_router_in_process([runtime for runtime, _ in built.values()], [app for _, app in built.values()])
        for service, (runtime, app) in built.items():
            await runtime.start()
            client = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url=f"http://{service}", headers=ADMIN, timeout=30
            )
            running[service] = (runtime, client)
        yield running
    finally:
        for runtime, client in running.values():
            await client.aclose()
            await runtime.stop()
        for name in names.values():
            await drop_database(name)


async def raw_records(topic_prefix: str) -> bytes:
    values = []
    for topic in ROUTER_TOPICS:
        values += [record.value or b"" for record in await read_topic(f"{topic_prefix}{topic}")]
    return b"\n".join(values)


async def key_traces(database: Database, key: bytes) -> list[str]:
    """`table.column` of every column of the database that holds the key, raw, in base64 or in hex."""
    found = []
    async with database.engine.connect() as connection:
        columns = await connection.execute(
            text(
                "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = "
                "'public' AND data_type IN ('text', 'character varying', 'character', 'json', 'jsonb', 'bytea', "
                "'ARRAY')"
            )
        )
        for table, column, data_type in columns.all():
            if data_type == "bytea":
                query = f'SELECT count(*) FROM "{table}" WHERE position(CAST(:raw AS bytea) IN "{column}") > 0'
            else:
                query = f'SELECT count(*) FROM "{table}" WHERE "{column}"::text LIKE :b64 OR "{column}"::text LIKE :hex'
            values = {"raw": key, "b64": f"%{base64.b64encode(key).decode()}%", "hex": f"%{key.hex()}%"}
            if await connection.scalar(text(query), values):
                found.append(f"{table}.{column}")
    return found


async def test_after_erasure_no_record_on_the_router_topics_reads_as_the_customer(
    services: dict[str, tuple[ServiceRuntime, httpx.AsyncClient]], topic_prefix: str
) -> None:
    clients = Clients(services["router"][1], services["knowledge"][1], services["notifier"][1])
    databases = {name: runtime.database for name, (runtime, _) in services.items()}
    customer = await populate(clients, databases["notifier"], timeout=90)
    assert await traces_left(databases["knowledge"]), "knowledge must have opened the sealed fields"
    assert await traces_left(databases["notifier"]), "the notifier must have opened the sealed fields"
    answer = await clients.router.get(f"/v1/customers/{customer.id}/data-key")
    assert answer.status_code == 200, answer.text
    key = base64.b64decode(answer.json()["key"])
    assert PREFIX.encode() in await raw_records(topic_prefix)
    assert await wrapped_keys(databases["router"]) == 1

    await erase(clients.router, customer, timeout=90)
    await erased_everywhere(clients, customer, timeout=90)
    for runtime, _ in services.values():
        await runtime.relay.flush(timeout=30)

    on_kafka = (await raw_records(topic_prefix)).lower()
    assert [value for value in TRACES if value.lower().encode() in on_kafka] == []
    assert {name: await key_traces(database, key) for name, database in databases.items()} == {
        "router": [],
        "knowledge": [],
        "notifier": [],
    }
    assert await wrapped_keys(databases["router"]) == 0
    assert (await clients.router.get(f"/v1/customers/{customer.id}/data-key")).status_code == 410


async def wrapped_keys(router_db: Database) -> int:
    async with router_db.engine.connect() as connection:
        query = "SELECT count(*) FROM customer_data_keys WHERE wrapped_key IS NOT NULL"
        return int(await connection.scalar(text(query)) or 0)
