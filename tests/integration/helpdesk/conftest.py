"""The bridge on the real stack: the router and the bridge on Kafka (a private topic prefix), each with its
own fresh PostgreSQL database, and the real Request Tracker that deploy/rt.sh runs.

The router is reached in-process (its app over ASGI) with an agent-scoped key bound to no agent, as the
bridge is configured in production. Agents are real RT users (deploy/rt.sh agent) linked through the
bridge's admin API.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.helpdesk.bootstrap import build_runtime as build_bridge
from services.helpdesk.bootstrap import create_app as create_bridge_app
from services.helpdesk.desk.port import Helpdesk
from services.helpdesk.desk.request_tracker import RequestTracker
from services.helpdesk.firstcall.client import RouterClient
from services.helpdesk.links.models import TicketLink
from services.helpdesk.settings import HelpdeskSettings
from services.router.bootstrap import build_runtime as build_router
from services.router.bootstrap import create_app as create_router_app
from shared.runtime import ServiceRuntime
from tests.conftest import wait_until
from tests.factories import ADMIN, agent_request, service_settings, ticket_request
from tests.rt_stack import create_agent, rt_async_client, rt_token, rt_url
from tests.stack import KAFKA, create_database, drop_database
from tests.unit.helpdesk.conftest import SwitchableTransport

WAIT = 60.0  # generous: a loaded 2-core machine runs RT, Kafka and PostgreSQL beside the tests


def bridge_settings(data_dir: Path, database_url: str, topic_prefix: str, **overrides: Any) -> HelpdeskSettings:
    values: dict[str, Any] = {
        "environment": "test",
        "data_dir": data_dir,
        "database_url": database_url,
        "bus": "kafka",
        "kafka_bootstrap_servers": KAFKA,
        "kafka_topic_prefix": topic_prefix,
        "log_format": "text",
        "rt_url": rt_url(),
        "rt_token": rt_token(),
        "poll_interval_seconds": 0.5,
        "settle_seconds": 1.0,
        "effect_backoff_initial_seconds": 0.2,
        "effect_backoff_max_seconds": 2.0,
        "lease_seconds": 5,
    }
    values.update(overrides)
    return HelpdeskSettings(**values)


@dataclass
class RealDesk:
    router_runtime: ServiceRuntime
    router: httpx.AsyncClient
    router_app: Any
    router_key: str
    router_link: SwitchableTransport
    settings: HelpdeskSettings
    bridge_runtime: ServiceRuntime | None = None
    bridge_api: httpx.AsyncClient | None = None

    async def start_bridge(self, *, helpdesk: Helpdesk | None = None, run_bridge: bool = True) -> ServiceRuntime:
        """The bridge process (again, after a 'crash': same database, same consumer group)."""
        router = RouterClient(base_url="http://router", api_key=self.router_key, timeout=30, transport=self.router_link)
        runtime = build_bridge(self.settings, helpdesk=helpdesk, router=router, run_bridge=run_bridge)
        await runtime.start()
        self.bridge_runtime = runtime
        self.bridge_api = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_bridge_app(runtime, manage_runtime=False)),
            base_url="http://helpdesk",
            headers=ADMIN,
        )
        return runtime

    async def stop_bridge(self) -> None:
        if self.bridge_api is not None:
            await self.bridge_api.aclose()
        if self.bridge_runtime is not None:
            await self.bridge_runtime.stop()
        self.bridge_runtime = self.bridge_api = None

    async def agent(self, name: str, **overrides: Any) -> tuple[dict[str, Any], str]:
        """A firstcall agent and their RT user (with a token to act in RT as them), linked in the bridge."""
        user, token = create_agent(f"{name.lower()}-{uuid.uuid4().hex[:8]}")
        response = await self.router.post("/v1/agents", json=agent_request(display_name=name, **overrides))
        assert response.status_code == 201, response.text
        agent: dict[str, Any] = response.json()
        assert self.bridge_api is not None
        linked = await self.bridge_api.put(f"/v1/agent-links/{agent['id']}", json={"rt_user": user})
        assert linked.status_code == 200, linked.text
        return agent, token

    async def open_ticket(self, **overrides: Any) -> dict[str, Any]:
        response = await self.router.post("/v1/tickets", json=ticket_request(**overrides))
        assert response.status_code == 201, response.text
        ticket: dict[str, Any] = response.json()
        return ticket

    async def rt_id(self, ticket: dict[str, Any]) -> int:
        """The RT ticket of a firstcall ticket, once the bridge made it."""

        async def made() -> int | None:
            assert self.bridge_runtime is not None
            async with self.bridge_runtime.database.session() as session:
                link = await session.get(TicketLink, uuid.UUID(ticket["id"]))
                return link.rt_ticket_id if link else None

        return await wait_until(made, timeout=WAIT, every=0.2)

    async def firstcall_ticket(self, ticket: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = (await self.router.get(f"/v1/tickets/{ticket['id']}")).json()
        return body


async def rt_ticket(rt_id: int) -> dict[str, Any]:
    async with rt_async_client() as client:
        body: dict[str, Any] = (await client.get(f"ticket/{rt_id}")).json()
        return body


async def rt_comments(rt_id: int) -> list[str]:
    """The subjects of the comments on an RT ticket, in order (the bridge's carry its marker)."""
    async with rt_async_client() as client:
        response = await client.post(
            f"ticket/{rt_id}/history",
            params={"fields": "Type,Data", "per_page": 100},
            json=[{"field": "Type", "value": "Comment"}],
        )
        return [str(item.get("Data") or "").strip() for item in response.json()["items"]]


def real_rt() -> RequestTracker:
    return RequestTracker(base_url=rt_url(), token=rt_token(), user="firstcall-bridge", timeout=30)


@pytest.fixture
async def real_desk(tmp_path: Path, pg_url: str, topic_prefix: str) -> AsyncIterator[RealDesk]:
    router_settings = service_settings(
        "router",
        data_dir=tmp_path,
        database_url=pg_url,
        bus="kafka",
        kafka_topic_prefix=topic_prefix,
        kafka_bootstrap_servers=KAFKA,
    )
    router_runtime = build_router(router_settings)  # type: ignore[arg-type]
    await router_runtime.start()
    router_app = create_router_app(router_runtime, manage_runtime=False)
    router = httpx.AsyncClient(transport=httpx.ASGITransport(app=router_app), base_url="http://router", headers=ADMIN)
    issued = await router.post("/v1/api-keys", json={"name": "helpdesk bridge", "scopes": ["agent"]})
    assert issued.status_code == 201, issued.text
    bridge_db = f"fc_test_{uuid.uuid4().hex[:12]}"
    settings = bridge_settings(tmp_path, await create_database(bridge_db), topic_prefix)
    key = str(issued.json()["key"])
    desk = RealDesk(router_runtime, router, router_app, key, SwitchableTransport(router_app), settings)
    yield desk
    await desk.stop_bridge()
    await router.aclose()
    await router_runtime.stop()
    await drop_database(bridge_db)
