"""The real stack as tests reach it: addresses, throwaway databases, and reading topics directly.

Addresses come from the environment `make test` exports (var/stack.env), with the stack scripts' defaults.
"""

from __future__ import annotations

import asyncio
import os
import socket

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy.engine import make_url

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


def unreachable_parts() -> list[str]:
    """Which of Kafka and PostgreSQL cannot be reached (empty when the stack is up)."""
    checks = (("Kafka", KAFKA), ("PostgreSQL", _pg_address()))
    return [name for name, address in checks if not _reachable(address)]


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
        await drop_database_on(connection, name)
    finally:
        await connection.close()


async def drop_database_on(connection: asyncpg.Connection, name: str) -> None:
    """DROP DATABASE ... WITH (FORCE) through an admin connection, retried for a moment if need be."""
    for attempt in range(10):
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except asyncpg.InsufficientPrivilegeError:
            # FORCE may not end an autovacuum worker busy in a fresh database; it finishes within moments.
            if attempt == 9:
                raise
            await asyncio.sleep(0.5)


async def read_topic(topic: str, bootstrap_servers: str = KAFKA) -> list[ConsumerRecord]:
    """Every record currently on `topic`, from the beginning, without joining any consumer group."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in (consumer.partitions_for_topic(topic) or set())]
        if not partitions:
            await consumer._client.force_metadata_update()
            partitions = [TopicPartition(topic, p) for p in (consumer.partitions_for_topic(topic) or set())]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[ConsumerRecord] = []
        remaining = {tp for tp in partitions if ends[tp] > 0}
        while remaining:
            batches = await consumer.getmany(timeout_ms=1000)
            for tp, messages in batches.items():
                records.extend(messages)
                if messages and messages[-1].offset + 1 >= ends[tp]:
                    remaining.discard(tp)
        return records
    finally:
        await consumer.stop()


async def delete_topics(prefix: str) -> None:
    """Delete the topics a test created under its private prefix."""
    admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA)
    await admin.start()
    try:
        mine = [name for name in await admin.list_topics() if name.startswith(prefix)]
        if mine:
            await admin.delete_topics(mine)
    finally:
        await admin.close()
