"""The bridge in-process beside the real router, knowledge and notifier on one in-memory bus, with a fake RT.

The router is the real app (its API is what the bridge acts through), reached over ASGI with an
agent-scoped key bound to no agent, as in production. The bridge's background loops are not started:
tests drive its two halves (`carry_out_effects`, `read_rt`) so that nothing depends on timing.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from services.embedded import SERVICES, build_embedded, drain
from services.helpdesk.bootstrap import build_runtime, create_app
from services.helpdesk.bridge import Bridge
from services.helpdesk.effects import service as effects
from services.helpdesk.effects.models import Effect
from services.helpdesk.firstcall.client import RouterClient
from services.helpdesk.links.models import TicketLink
from services.helpdesk.settings import HelpdeskSettings
from shared.bus.memory import InMemoryBus
from shared.runtime import ServiceRuntime
from tests.factories import ADMIN, agent_request, service_settings, ticket_request
from tests.unit.helpdesk.fake_rt import FakeRT


class SwitchableTransport(httpx.AsyncBaseTransport):
    """The router over ASGI, which a test can take down (connections refused) and bring back."""

    def __init__(self, app: Any) -> None:
        self.inner, self.down = httpx.ASGITransport(app=app), False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("router is down (test)", request=request)
        return await self.inner.handle_async_request(request)


@pytest.fixture(autouse=True)
def _no_real_rt(monkeypatch: pytest.MonkeyPatch) -> None:
    """The unit tier talks to a fake RT: `make test` exports the real one's URL and token (var/stack.env)."""
    for name in [name for name in os.environ if name.startswith("FIRSTCALL_HELPDESK_")]:
        monkeypatch.delenv(name)


def helpdesk_settings(data_dir: Path, **overrides: Any) -> HelpdeskSettings:
    values: dict[str, Any] = {
        "environment": "test",
        "data_dir": data_dir,
        "database_url": "sqlite+aiosqlite:///{data_dir}/{service}.db",
        "bus": "memory",
        "log_format": "text",
        "consumer_retry_backoff_ms": 10,
        "outbox_poll_interval_ms": 50,
        "shutdown_grace_seconds": 5,
        "settle_seconds": 0,
        "poll_overlap_seconds": 60,
        "effect_backoff_initial_seconds": 0.001,
        "effect_backoff_max_seconds": 0.002,
        "poll_interval_seconds": 30,  # an effect waiting on the poller stays waiting until a test reads RT
    }
    values.update(overrides)
    return HelpdeskSettings(**values)


@dataclass
class Desk:
    """The stack, the bridge and the fake RT, with the steps a test takes."""

    bus: InMemoryBus
    runtimes: list[ServiceRuntime]
    router: httpx.AsyncClient
    notifier: httpx.AsyncClient
    bridge_api: httpx.AsyncClient
    bridge_runtime: ServiceRuntime
    rt: FakeRT
    router_link: SwitchableTransport

    @property
    def bridge(self) -> Bridge:
        bridge: Bridge = self.bridge_runtime.extensions["bridge"]
        return bridge

    async def deliver(self) -> None:
        """Every event published so far reaches every consumer group (the bridge's included)."""
        await drain(self.bus, [*self.runtimes, self.bridge_runtime], timeout=60)

    async def carry_out_effects(self, *, rounds: int = 50) -> None:
        """Events delivered, then the bridge's writes to RT carried out until none is due (effects waiting
        for the read-back of an agent's change in RT stay waiting)."""
        await self.deliver()
        for _ in range(rounds):
            if not await self.bridge.worker.run_once():
                if not await self.pending_due():
                    return
                await asyncio.sleep(0.01)  # a postponed effect's (test-short) backoff runs out
        raise AssertionError("effects still due after many rounds")

    async def read_rt(self) -> int:
        """One read-back round of RT's changes, then what firstcall did in answer reaches RT."""
        applied = await self.bridge.reader.read_once()
        await self.carry_out_effects()
        return applied

    async def pending_due(self) -> int:
        """Pending effects due now or after a postponement's backoff (milliseconds in these tests)."""
        soon = datetime.now(UTC) + timedelta(seconds=1)
        async with self.bridge_runtime.database.session() as session:
            return len(await effects.due(session=session, now=soon, limit=100))

    async def effects(self, **where: Any) -> list[Effect]:
        async with self.bridge_runtime.database.session() as session:
            statement = select(Effect).filter_by(**where).order_by(Effect.seq)
            return list((await session.scalars(statement)).all())

    async def link(self, ticket_id: str) -> TicketLink:
        async with self.bridge_runtime.database.session() as session:
            link = await session.get(TicketLink, uuid.UUID(ticket_id))
            assert link is not None
            return link

    async def agent(self, name: str, rt_user: str | None = None, **overrides: Any) -> dict[str, Any]:
        """A firstcall agent, linked to an RT user of the same name (unless `rt_user=""`)."""
        response = await self.router.post("/v1/agents", json=agent_request(display_name=name, **overrides))
        assert response.status_code == 201, response.text
        agent: dict[str, Any] = response.json()
        user = name.lower() if rt_user is None else rt_user
        if user:
            self.rt.users.add(user)
            linked = await self.bridge_api.put(f"/v1/agent-links/{agent['id']}", json={"rt_user": user})
            assert linked.status_code == 200, linked.text
        return agent

    async def open_ticket(self, **overrides: Any) -> dict[str, Any]:
        response = await self.router.post("/v1/tickets", json=ticket_request(**overrides))
        assert response.status_code == 201, response.text
        ticket: dict[str, Any] = response.json()
        return ticket

    async def firstcall_ticket(self, ticket: dict[str, Any]) -> dict[str, Any]:
        response = await self.router.get(f"/v1/tickets/{ticket['id']}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def count_in_router(self, model: Any, **where: Any) -> int:
        """Rows of a router table (notes, transfers, ledger entries): what firstcall recorded."""
        async with self.runtimes[0].database.session() as session:
            return int(await session.scalar(select(func.count()).select_from(model).filter_by(**where)) or 0)

    async def rt_ticket_of(self, ticket: dict[str, Any]) -> int:
        link = await self.link(ticket["id"])
        assert link.rt_ticket_id is not None, "not in RT yet"
        return link.rt_ticket_id


async def _agent_key(router: httpx.AsyncClient) -> str:
    """An agent-scoped router key bound to no agent: what an admin issues for the bridge."""
    response = await router.post("/v1/api-keys", json={"name": "helpdesk bridge", "scopes": ["agent"]})
    assert response.status_code == 201, response.text
    return str(response.json()["key"])


@pytest.fixture
def desk_overrides() -> dict[str, Any]:
    """Settings of the bridge a test wants (override with `@pytest.mark.parametrize("desk_overrides", ...)`)."""
    return {}


@pytest.fixture
async def desk(tmp_path: Path, desk_overrides: dict[str, Any]) -> AsyncIterator[Desk]:
    bus, runtimes, apps = build_embedded([service_settings(name, data_dir=tmp_path) for name in SERVICES])
    for runtime in runtimes:
        await runtime.start()
    router_app = apps[0]
    router = httpx.AsyncClient(transport=httpx.ASGITransport(app=router_app), base_url="http://router", headers=ADMIN)
    notifier = httpx.AsyncClient(transport=httpx.ASGITransport(app=apps[2]), base_url="http://notifier", headers=ADMIN)
    key = await _agent_key(router)
    rt = FakeRT(queues=("firstcall", "firstcall-billing"))
    router_link = SwitchableTransport(router_app)
    router_client = RouterClient(base_url="http://router", api_key=key, timeout=60, transport=router_link)
    settings = helpdesk_settings(tmp_path, **desk_overrides)
    runtime = build_runtime(settings, bus=bus, helpdesk=rt, router=router_client, run_bridge=False)
    await runtime.start()
    api = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(runtime, manage_runtime=False)),
        base_url="http://helpdesk",
        headers=ADMIN,
    )
    yield Desk(bus, runtimes, router, notifier, api, runtime, rt, router_link)
    await api.aclose()
    await router.aclose()
    await notifier.aclose()
    await runtime.stop()
    for runtime in runtimes:
        await runtime.stop()
    await bus.stop()
