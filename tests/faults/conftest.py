"""The fault tier's stack: its own Kafka broker and PostgreSQL cluster, the services as processes on them
(router, knowledge, two notifier replicas), the contact center's webhook, an agent who may credit.

Nothing here reaches the shared stack (9092, 55432) that other tests use at the same time: every
FIRSTCALL_ variable of the caller's environment is dropped, and the services get the tier's own addresses.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.factories import agent_request
from tests.faults.campaign import Stack
from tests.faults.fleet import Fleet
from tests.faults.infra import OwnKafka, OwnPostgres, remove, scratch_folder, start_reaper
from tests.faults.receiver import SECRET, CenterWebhook, center_webhook
from tests.faults.results import ROWS, table
from tests.faults.traffic import Writer
from tests.unit.notifier.receivers import free_port

REPLICAS = {"router": "router", "knowledge": "knowledge", "notifier-a": "notifier", "notifier-b": "notifier"}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "faults: kills processes of a stack of its own while traffic flows")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if ROWS:
        terminalreporter.write_sep("=", "fault campaign: one row per fault")
        terminalreporter.write_line(table())


def _fleet(kafka: OwnKafka, postgres: OwnPostgres, logs: Path) -> Fleet:
    ports = {name: free_port() for name in REPLICAS}
    env = {name: value for name, value in os.environ.items() if not name.startswith("FIRSTCALL_")}
    env.update(
        {
            "FIRSTCALL_ENVIRONMENT": "test",
            "FIRSTCALL_BUS": "kafka",
            "FIRSTCALL_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap,
            "FIRSTCALL_KAFKA_TOPIC_PREFIX": "faults.",
            "FIRSTCALL_DATABASE_URL": postgres.url_template,
            "FIRSTCALL_LOG_FORMAT": "json",
            "FIRSTCALL_SHUTDOWN_GRACE_SECONDS": "5",
            "FIRSTCALL_ROUTER_KNOWLEDGE_URL": f"http://127.0.0.1:{ports['knowledge']}",
            # Sealed personal fields, as deployed: a killed router also makes consumers wait for keys.
            "FIRSTCALL_ROUTER_URL": f"http://127.0.0.1:{ports['router']}",
            "FIRSTCALL_ROUTER_SEAL_PERSONAL_FIELDS": "true",
            "FIRSTCALL_NOTIFIER_SEAL_PERSONAL_FIELDS": "true",
            # The lightest encoder: the tier is about faults, and two replicas share two cores with the rest.
            "FIRSTCALL_NOTIFIER_DETECTION_ENCODER": "wordllama",
            "FIRSTCALL_NOTIFIER_WEBHOOK_ALLOW_HTTP": "true",
            "FIRSTCALL_NOTIFIER_DELIVERY_BACKOFF_INITIAL_SECONDS": "0.5",
            "FIRSTCALL_NOTIFIER_DELIVERY_BACKOFF_MAX_SECONDS": "2",
            "FIRSTCALL_NOTIFIER_DELIVERY_POLL_INTERVAL_MS": "200",
            # A send cut short by a kill is taken over when its lease runs out; the timeout stays below it.
            "FIRSTCALL_NOTIFIER_DELIVERY_LEASE_SECONDS": "5",
            "FIRSTCALL_NOTIFIER_DELIVERY_TIMEOUT_SECONDS": "4",
        }
    )
    return Fleet(env=env, logs=logs, topic_prefix="faults.", ports=ports, replicas=dict(REPLICAS))


async def _seed(fleet: Fleet, center: CenterWebhook, writer: Writer, run: str) -> str:
    """An agent who takes chat tickets and may credit, and the contact center subscribed to customer messages."""
    agent = await writer.post(
        f"{fleet.url('router')}/v1/agents",
        agent_request(display_name="Fault agent", skills={}, capacity={"chat": 100}),
        f"{run}-agent",
    )
    await writer.post(
        f"{fleet.url('notifier-a')}/v1/subscriptions",
        {"url": center.url, "event_types": ["customer.message"], "secret": SECRET, "team": "contact-center"},
        f"{run}-center",
    )
    agent_id: str = agent.body["id"]
    return agent_id


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    home = scratch_folder()
    kafka, postgres = OwnKafka(home), OwnPostgres(home)
    fleet = _fleet(kafka, postgres, tmp_path_factory.mktemp("fault-logs"))
    run = uuid.uuid4().hex[:8]
    reaper = start_reaper(home, kafka, postgres)
    fleet.pids = home / "pids"
    try:
        await asyncio.gather(asyncio.to_thread(kafka.start), asyncio.to_thread(postgres.start))
        await asyncio.to_thread(postgres.make_commits_durable)
        async with center_webhook() as center:
            writer = Writer()
            try:
                await asyncio.gather(*(asyncio.to_thread(fleet.start, name) for name in REPLICAS))
                agent_id = await _seed(fleet, center, writer, run)
                yield Stack(run, kafka, postgres, fleet, center, writer, agent_id)
            finally:
                await writer.aclose()
                await asyncio.to_thread(fleet.shut_down)
    finally:
        await asyncio.to_thread(kafka.stop)
        await asyncio.to_thread(postgres.stop)
        remove(home)
        reaper.terminate()
        reaper.wait(timeout=30)
