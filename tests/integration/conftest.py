"""The real stack: PostgreSQL and Kafka as `make up` starts them. Unreachable means failed, never skipped.

Each test gets its own PostgreSQL database and its own topic prefix, so tests never see each other's
rows or records, and nothing has to be cleaned between runs.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy.engine import make_url

from shared.events.topics import TopicSpec, all_topics

KAFKA = os.environ.get("FIRSTCALL_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
DATABASE_TEMPLATE = os.environ.get(
    "FIRSTCALL_DATABASE_URL", "postgresql+asyncpg://firstcall:firstcall@127.0.0.1:55432/firstcall_{service}"
)


def _reachable(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            return True
    except OSError:
        return False


def _pg_address() -> str:
    url = make_url(DATABASE_TEMPLATE.replace("{service}", "x"))
    return f"{url.host}:{url.port or 5432}"


@pytest.fixture(scope="session", autouse=True)
def real_stack() -> None:
    """Fail the whole tier at once, loudly, when the stack is not there."""
    down = [name for name, address in (("Kafka", KAFKA), ("PostgreSQL", _pg_address())) if not _reachable(address)]
    if down:
        pytest.fail(f"{' and '.join(down)} not reachable: start the stack with `make up` (make test does it)")


def database_url(name: str) -> str:
    return make_url(DATABASE_TEMPLATE.replace("{service}", "x")).set(database=name).render_as_string(False)


async def _admin() -> asyncpg.Connection:
    url = make_url(DATABASE_TEMPLATE.replace("{service}", "x"))
    return await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, password=url.password, database="postgres"
    )


async def create_database(name: str) -> str:
    connection = await _admin()
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return database_url(name)


async def drop_database(name: str) -> None:
    connection = await _admin()
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    name = f"fc_test_{uuid.uuid4().hex[:12]}"
    url = await create_database(name)
    yield url
    await drop_database(name)


@pytest.fixture
async def topic_prefix() -> AsyncIterator[str]:
    """A private namespace of topics for one test; its topics are deleted afterwards."""
    prefix = f"t{uuid.uuid4().hex[:10]}."
    yield prefix
    admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA)
    await admin.start()
    try:
        mine = [name for name in await admin.list_topics() if name.startswith(prefix)]
        if mine:
            await admin.delete_topics(mine)
    finally:
        await admin.close()


def prefixed_topics(prefix: str) -> list[TopicSpec]:
    return [replace(spec, name=prefix + spec.name) for spec in all_topics()]
