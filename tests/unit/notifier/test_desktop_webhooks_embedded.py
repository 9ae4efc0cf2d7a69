"""The embedded mode end to end: a team's desktop webhook receives the signed assignment of a ticket opened
with POST /v1/tickets on the router, through the in-memory bus and the notifier's delivery worker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from services.embedded import SERVICES, build_embedded
from services.notifier.subscriptions.signing import verify_signature
from tests.conftest import wait_until
from tests.factories import ADMIN, agent_request, service_settings, ticket_request
from tests.unit.conftest import Stack
from tests.unit.notifier.receivers import webhook_receiver

NOTIFIER = {"webhook_allow_http": True, "detection_encoder": "none", "delivery_poll_interval_ms": 20}


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    settings = [
        service_settings(name, data_dir=tmp_path, **(NOTIFIER if name == "notifier" else {})) for name in SERVICES
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


async def test_a_teams_webhook_receives_the_signed_assignment_of_a_ticket_opened_on_the_router(stack: Stack) -> None:
    agent = await stack.router.post("/v1/agents", json=agent_request(team="payments"))
    assert agent.status_code == 201, agent.text
    await stack.runtimes["router"].relay.flush(timeout=60)
    await stack.bus.wait_idle()
    async with webhook_receiver() as receiver:
        subscribed = await stack.notifier.post(
            "/v1/desktop-webhooks",
            json={"audience": "team", "team": "payments", "url": receiver.url, "event_types": ["ticket.assigned"]},
        )
        receiver.secret = subscribed.json()["secret"]
        opened = await stack.router.post("/v1/tickets", json=ticket_request())
        assert opened.status_code == 201, opened.text
        [delivery] = await wait_until(receiver.arrived, timeout=30)
    body = delivery.json
    assert body["subject"] == opened.json()["id"]
    assert body["concerns"] == [{"agent_id": agent.json()["id"], "concern": "assignee", "team": "payments"}]
    assert verify_signature(
        receiver.secret,
        timestamp=delivery.headers["x-firstcall-timestamp"],
        signature=delivery.headers["x-firstcall-signature"],
        body=delivery.body,
    )
