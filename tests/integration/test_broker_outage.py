"""Kafka down: tickets are still accepted, readiness says degraded, and nothing is lost when it is back.

This test stops and starts a broker of its own (deploy/kafka.sh on other ports), so the shared broker
the other tests use is never disturbed.
"""

from __future__ import annotations

import importlib
import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.events.envelope import from_kafka
from shared.events.topics import TICKETS
from shared.runtime import ServiceRuntime
from tests.conftest import wait_until
from tests.factories import ADMIN, service_settings, ticket_request
from tests.stack import read_topic

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
PORT, CONTROLLER_PORT = 19092, 19093
BOOTSTRAP = f"127.0.0.1:{PORT}"


def kafka(command: str) -> None:
    env = {
        **os.environ,
        "FIRSTCALL_KAFKA_PORT": str(PORT),
        "FIRSTCALL_KAFKA_CONTROLLER_PORT": str(CONTROLLER_PORT),
    }
    subprocess.run([str(ROOT / "deploy" / "kafka.sh"), command], env=env, check=True, capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def own_broker() -> Iterator[str]:
    kafka("start")
    yield BOOTSTRAP
    kafka("stop")


@pytest.fixture
async def router(own_broker: str, pg_url: str, topic_prefix: str, tmp_path: Path) -> AsyncIterator[ServiceRuntime]:
    bootstrap = importlib.import_module("services.router.bootstrap")
    settings = service_settings(
        "router",
        data_dir=tmp_path,
        database_url=pg_url,
        bus="kafka",
        kafka_bootstrap_servers=own_broker,
        kafka_topic_prefix=topic_prefix,
        outbox_poll_interval_ms=200,
    )
    runtime: ServiceRuntime = bootstrap.build_runtime(settings)
    await runtime.start()
    yield runtime
    await runtime.stop()


async def test_outbox_holds_tickets_while_kafka_is_down_and_delivers_them_when_it_is_back(
    router: ServiceRuntime, topic_prefix: str
) -> None:
    app = importlib.import_module("services.router.bootstrap").create_app(router, manage_runtime=False)
    topic = topic_prefix + TICKETS.name
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://router", headers=ADMIN
    ) as client:
        assert (await client.get("/readyz")).json()["status"] == "ok"
        kafka("stop")
        try:
            response = await client.post("/v1/tickets", json=ticket_request())
            assert response.status_code == 201
            ticket_id = response.json()["id"]
            degraded = await wait_until(lambda: _readiness(client, "degraded"), timeout=30)
            assert degraded["checks"]["database"] == "ok"
            assert degraded["checks"]["outbox_pending"] >= 1
            await wait_until(lambda: _relay_gave_up(router), timeout=30)
            assert await router.relay.pending() >= 1, "the events wait in the outbox"
        finally:
            kafka("start")
        await wait_until(lambda: _readiness(client, "ok"), timeout=90)
        records = await wait_until(lambda: read_topic(topic, BOOTSTRAP), timeout=30)
    opened = [from_kafka(r.value, r.headers) for r in records]
    assert [e.subject for e in opened if e.type == "firstcall.ticket.opened"] == [ticket_id]
    assert len({e.id for e in opened}) == len(opened), "no event was delivered twice"


async def _relay_gave_up(runtime: ServiceRuntime) -> bool:
    return not runtime.relay.bus_ok


async def _readiness(client: httpx.AsyncClient, status: str) -> dict[str, Any] | None:
    report: dict[str, Any] = (await client.get("/readyz")).json()
    if report["status"] != status:
        return None
    if status == "ok" and report["checks"]["outbox_pending"] != 0:
        return None
    return report
