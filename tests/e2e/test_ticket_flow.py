"""The skeleton flow on the real stack: separate processes, Kafka between them, PostgreSQL under each."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
from typing import Any

import httpx
import pytest

from shared.events.envelope import from_kafka
from shared.events.topics import TICKETS
from tests.conftest import wait_until
from tests.e2e.conftest import ServiceProcesses
from tests.factories import ADMIN, ticket_request
from tests.stack import KAFKA, read_topic

pytestmark = pytest.mark.e2e


async def appears(url: str) -> httpx.Response | None:
    async with httpx.AsyncClient(timeout=5, headers=ADMIN) as client:
        response = await client.get(url)
    return response if response.status_code == 200 else None


async def open_ticket(services: ServiceProcesses, **headers: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10, headers=ADMIN) as client:
        return await client.post(f"{services.url('router')}/v1/tickets", json=ticket_request(), headers=headers)


async def test_a_ticket_opened_on_the_router_is_recorded_by_knowledge_and_notifier(
    services: ServiceProcesses,
) -> None:
    response = await open_ticket(services)
    assert response.status_code == 201
    ticket = response.json()
    suggestion = await wait_until(
        lambda: appears(f"{services.url('knowledge')}/v1/tickets/{ticket['id']}/suggestions"), timeout=30
    )
    report = await wait_until(lambda: appears(f"{services.url('notifier')}/v1/reports/{ticket['id']}"), timeout=30)
    assert suggestion.json()["customer_id"] == report.json()["customer_id"] == ticket["customer_id"]


async def test_a_retried_request_opens_one_ticket_and_puts_one_event_on_kafka(services: ServiceProcesses) -> None:
    first = await open_ticket(services, **{"Idempotency-Key": "e2e-retry"})
    second = await open_ticket(services, **{"Idempotency-Key": "e2e-retry"})
    assert second.json() == first.json()
    ticket_id = first.json()["id"]
    await wait_until(lambda: appears(f"{services.url('notifier')}/v1/reports/{ticket_id}"), timeout=30)
    records = await read_topic(services.topic_prefix + TICKETS.name)
    types = [from_kafka(r.value, r.headers).type for r in records if r.key == ticket_id.encode()]
    assert types.count("firstcall.ticket.opened") == 1


async def test_the_correlation_id_of_a_call_follows_it_into_the_other_services_logs(
    services: ServiceProcesses,
) -> None:
    response = await open_ticket(services, **{"X-Correlation-ID": "ivr-call-e2e-1"})
    ticket_id = response.json()["id"]
    await wait_until(lambda: appears(f"{services.url('knowledge')}/v1/tickets/{ticket_id}/suggestions"), timeout=30)
    await wait_until(lambda: _logged(services, "knowledge", "ivr-call-e2e-1"), timeout=10)


def log_lines(services: ServiceProcesses, service: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in services.log(service).splitlines() if line.startswith("{")]


async def _logged(services: ServiceProcesses, service: str, correlation_id: str) -> bool:
    return any(line.get("correlation_id") == correlation_id for line in log_lines(services, service))


async def test_an_independent_kafka_client_sees_the_cloudevents_headers(services: ServiceProcesses) -> None:
    kcat = shutil.which("kcat") or shutil.which("kafkacat")
    assert kcat, "kcat is needed for this test: apt-get install kcat (.ci/run installs it)"
    ticket_id = (await open_ticket(services)).json()["id"]
    topic = services.topic_prefix + TICKETS.name
    await wait_until(lambda: appears(f"{services.url('notifier')}/v1/reports/{ticket_id}"), timeout=30)
    process = await asyncio.create_subprocess_exec(
        kcat, "-b", KAFKA, "-C", "-t", topic, "-e", "-q", "-f", "%k %h\\n", stdout=asyncio.subprocess.PIPE
    )
    stdout, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0
    output = stdout.decode()
    [line] = [line for line in output.splitlines() if line.startswith(ticket_id) and "ticket.opened" in line]
    assert "ce_type=firstcall.ticket.opened" in line
    assert "ce_specversion=1.0" in line
    assert f"ce_subject={ticket_id}" in line
    assert "ce_source=/firstcall/router" in line


async def test_a_stopped_service_shuts_down_cleanly_and_catches_up_when_restarted(
    services: ServiceProcesses,
) -> None:
    # uvicorn re-raises SIGTERM after its graceful shutdown, so "terminated by SIGTERM" is the clean exit;
    # the log line proves consumers, relay and connections were closed in order first.
    assert services.stop("notifier") in (0, -signal.SIGTERM)
    assert "notifier stopped" in [line["message"] for line in log_lines(services, "notifier")]
    ticket_id = (await open_ticket(services)).json()["id"]
    services.start("notifier")
    report = await wait_until(lambda: appears(f"{services.url('notifier')}/v1/reports/{ticket_id}"), timeout=30)
    assert report.json()["ticket_id"] == ticket_id
