"""The bridge opens the router's sealed fields (decision 0031): an RT ticket reads as the customer wrote,
and while the router cannot give the key, the events wait instead of being lost."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from services.embedded import SERVICES, build_embedded
from services.helpdesk.bootstrap import build_runtime, create_app
from services.helpdesk.firstcall.client import RouterClient
from shared.data_keys import EXTENSION, CustomerKeys, ask_router_in_process
from tests.factories import ADMIN, service_settings
from tests.unit.helpdesk.conftest import Desk, SwitchableTransport, _agent_key, helpdesk_settings
from tests.unit.helpdesk.fake_rt import FakeRT


@pytest.fixture
async def sealing_desk(tmp_path: Path) -> AsyncIterator[Desk]:
    settings = [
        service_settings(name, data_dir=tmp_path, **({"seal_personal_fields": True} if name == "router" else {}))
        for name in SERVICES
    ]
    bus, runtimes, apps = build_embedded(settings)
    for runtime in runtimes:
        await runtime.start()
    router = httpx.AsyncClient(transport=httpx.ASGITransport(app=apps[0]), base_url="http://router", headers=ADMIN)
    notifier = httpx.AsyncClient(transport=httpx.ASGITransport(app=apps[2]), base_url="http://notifier", headers=ADMIN)
    rt = FakeRT(queues=("firstcall",))
    router_link = SwitchableTransport(apps[0])
    client = RouterClient(base_url="http://router", api_key=await _agent_key(router), timeout=60, transport=router_link)
    runtime = build_runtime(helpdesk_settings(tmp_path), bus=bus, helpdesk=rt, router=client, run_bridge=False)
    bridge_app = create_app(runtime, manage_runtime=False)
    ask_router_in_process([runtimes[0], runtime], [apps[0], bridge_app])
    keys = runtime.extensions[EXTENSION]
    assert isinstance(keys, CustomerKeys)
    keys.transport = router_link  # the same way in, so the test can take the router down for both
    await runtime.start()
    api = httpx.AsyncClient(transport=httpx.ASGITransport(app=bridge_app), base_url="http://helpdesk", headers=ADMIN)
    yield Desk(bus, runtimes, router, notifier, api, runtime, rt, router_link)
    for opened in (api, router, notifier):
        await opened.aclose()
    await runtime.stop()
    for runtime in runtimes:
        await runtime.stop()
    await bus.stop()


async def test_a_sealed_ticket_reaches_rt_in_the_customers_words(sealing_desk: Desk) -> None:
    await sealing_desk.agent("Grace")
    ticket = await sealing_desk.open_ticket(channel="phone")
    await sealing_desk.carry_out_effects()
    rt = sealing_desk.rt.tickets[await sealing_desk.rt_ticket_of(ticket)]
    assert (rt.subject, rt.requestor) == ("Card payment declined", "ada@example.com")
    assert "My card was declined at the checkout" in rt.text


async def test_sealed_events_wait_while_the_router_is_down(sealing_desk: Desk) -> None:
    await sealing_desk.agent("Grace")
    sealing_desk.router_link.down = True
    ticket = await sealing_desk.open_ticket(channel="phone")
    await sealing_desk.bus.wait_idle(5)
    assert await sealing_desk.effects(ticket_id=uuid.UUID(ticket["id"])) == [], "handled without its words"
    sealing_desk.router_link.down = False
    await sealing_desk.carry_out_effects()
    rt = sealing_desk.rt.tickets[await sealing_desk.rt_ticket_of(ticket)]
    assert rt.subject == "Card payment declined"
