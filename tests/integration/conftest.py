"""The real stack: PostgreSQL and Kafka as `make up` starts them. Unreachable means failed, never skipped.

Each test gets its own PostgreSQL database and its own topic prefix, so tests never see each other's
rows or records, and nothing has to be cleaned between runs.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from shared.events.topics import TopicSpec, all_topics
from tests.stack import create_database, delete_topics, drop_database, unreachable_parts


@pytest.fixture(scope="session", autouse=True)
def real_stack() -> None:
    """Fail the whole tier at once, loudly, when the stack is not there."""
    down = unreachable_parts()
    if down:
        pytest.fail(f"{' and '.join(down)} not reachable: start the stack with `make up` (make test does it)")


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
    await delete_topics(prefix)


def prefixed_topics(prefix: str) -> list[TopicSpec]:
    return [replace(spec, name=prefix + spec.name) for spec in all_topics()]
