"""Every service answers /healthz, /readyz, /metrics and /openapi.json the same way."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from services.embedded import SERVICES
from services.notifier import bootstrap as notifier_bootstrap
from tests.factories import service_settings, ticket_request
from tests.unit.conftest import Stack


@pytest.mark.parametrize("service", SERVICES)
async def test_every_service_is_live_ready_and_documented(stack: Stack, service: str) -> None:
    client = stack.clients[service]
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "bus": "ok", "outbox_pending": 0}
    spec = (await client.get("/openapi.json")).json()
    assert spec["info"]["title"] == f"firstcall {service}"
    assert {"/healthz", "/readyz", "/metrics"} <= set(spec["paths"])
    metrics = await client.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    assert "firstcall_http_requests_total" in metrics.text


async def test_a_bus_outage_degrades_readiness_but_tickets_are_still_accepted(stack: Stack) -> None:
    stack.bus.available = False
    response = await stack.router.post("/v1/tickets", json=ticket_request())
    assert response.status_code == 201
    relay = stack.runtimes["router"].relay
    assert await relay.publish_batch() == 0
    ready = await stack.router.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "degraded"
    assert ready.json()["checks"]["bus"].startswith("degraded")
    assert ready.json()["checks"]["outbox_pending"] >= 1

    stack.bus.available = True
    await relay.flush(timeout=60)
    assert (await stack.router.get("/readyz")).json()["status"] == "ok"


async def test_an_unreachable_database_makes_the_service_unready(tmp_path: Path) -> None:
    # Nothing listens on port 1: the connection is refused at once, as when PostgreSQL is down.
    settings = service_settings(
        "notifier", data_dir=tmp_path, database_url="postgresql+asyncpg://firstcall:x@127.0.0.1:1/firstcall"
    )
    runtime = notifier_bootstrap.build_runtime(settings)  # type: ignore[arg-type]
    app = notifier_bootstrap.create_app(runtime, manage_runtime=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://notifier") as client:
        response = await client.get("/readyz")
        assert (await client.get("/healthz")).status_code == 200
    await runtime.database.dispose()
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["checks"]["database"] == "unreachable"
