"""The `firstcall` command run as ops run it, against the real Kafka and PostgreSQL, in a test's own
topic prefix and database (set through the same FIRSTCALL_* variables the services read)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
import pytest

from services.cli import main
from shared.bus.kafka import KafkaBus
from tests.integration.conftest import prefixed_topics
from tests.stack import KAFKA


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return orjson.loads(self.out)

    def json_lines(self) -> list[Any]:
        return [orjson.loads(line) for line in self.out.splitlines() if line.strip()]


Firstcall = Callable[..., Awaitable[Ran]]


@pytest.fixture
def stack_env(monkeypatch: pytest.MonkeyPatch, topic_prefix: str, pg_url: str) -> str:
    monkeypatch.setenv("FIRSTCALL_BUS", "kafka")
    monkeypatch.setenv("FIRSTCALL_KAFKA_BOOTSTRAP_SERVERS", KAFKA)
    monkeypatch.setenv("FIRSTCALL_KAFKA_TOPIC_PREFIX", topic_prefix)
    monkeypatch.setenv("FIRSTCALL_DATABASE_URL", pg_url)
    return topic_prefix


@pytest.fixture
def firstcall(stack_env: str, capsys: pytest.CaptureFixture[str]) -> Firstcall:
    """`firstcall ARGS...` in a thread (it runs its own event loop), with its exit code and output."""

    async def run(*argv: str) -> Ran:
        capsys.readouterr()
        code = await asyncio.to_thread(main, list(argv))
        captured = capsys.readouterr()
        return Ran(code, captured.out, captured.err)

    return run


@pytest.fixture
async def bus(topic_prefix: str) -> AsyncIterator[KafkaBus]:
    """A producer on the test's topics (which it creates, dead-letter topics included)."""
    bus = KafkaBus(bootstrap_servers=KAFKA, client_id="it-ops", topics=prefixed_topics(topic_prefix))
    await bus.start(wait_seconds=30)
    assert (await bus.health()).ok
    yield bus
    await bus.stop()
