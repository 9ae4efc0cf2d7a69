"""The bridge as its own process, killed (SIGKILL) the moment RT has answered a write and before the bridge
could commit anything, then started again: RT ends up with each write once.

RT is reached through a small proxy in this test: it forwards every request to the real RT and, when RT has
answered the write the test aims at, kills the bridge before passing the answer on. The router runs in this
test process behind a real HTTP server, on Kafka and PostgreSQL like the bridge.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.conftest import wait_until
from tests.factories import ADMIN, agent_request, ticket_request
from tests.integration.helpdesk.conftest import WAIT, RealDesk, rt_comments
from tests.rt_stack import create_agent, rt_async_client, rt_token, rt_url
from tests.stack import KAFKA

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class KillingProxy:
    """Forwards to RT; kills `victim` right after RT answered a request whose method and path match."""

    def __init__(self, method: str, path_end: str) -> None:
        self.method, self.path_end = method, path_end
        self.victim: subprocess.Popen[bytes] | None = None
        self.killed = asyncio.Event()
        self.rt = httpx.AsyncClient(base_url=rt_url().rstrip("/"), timeout=30)
        self.app = Starlette(routes=[Route("/{path:path}", self.forward, methods=["GET", "POST", "PUT", "DELETE"])])

    async def forward(self, request: Request) -> Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        answer = await self.rt.request(
            request.method, request.url.path, params=request.query_params, content=await request.body(), headers=headers
        )
        aimed = request.method == self.method and request.url.path.endswith(self.path_end)
        if aimed and self.victim is not None and not self.killed.is_set():
            os.kill(self.victim.pid, signal.SIGKILL)  # RT has done it; the bridge never hears so
            self.victim.wait()
            self.killed.set()
        kept = {k: v for k, v in answer.headers.items() if k.lower() not in ("content-length", "content-encoding")}
        return Response(answer.content, status_code=answer.status_code, headers=kept)


@asynccontextmanager
async def serving(app: Any, port: int) -> AsyncIterator[None]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off"))
    task = asyncio.create_task(server.serve())
    await wait_until(lambda: _started(server), timeout=WAIT, every=0.05)
    try:
        yield
    finally:
        server.should_exit = True
        await task


async def _started(server: uvicorn.Server) -> bool:
    return bool(server.started)


def bridge_process(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "services.cli", "serve", "helpdesk"], cwd=ROOT, env=env, stdout=out, stderr=out
        )


async def ready(url: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=2) as client:
            return (await client.get(f"{url}/readyz")).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.parametrize(("method", "path_end"), [("POST", "/ticket"), ("POST", "/comment")])
async def test_a_bridge_process_killed_after_rts_answer_neither_repeats_nor_loses_the_write(
    real_desk: RealDesk, tmp_path: Path, method: str, path_end: str
) -> None:
    router_port, proxy_port, bridge_port = free_port(), free_port(), free_port()
    proxy = KillingProxy(method, path_end)
    env = {
        **os.environ,
        "FIRSTCALL_ENVIRONMENT": "test",
        "FIRSTCALL_LOG_FORMAT": "text",
        "FIRSTCALL_BUS": "kafka",
        "FIRSTCALL_KAFKA_BOOTSTRAP_SERVERS": KAFKA,
        "FIRSTCALL_KAFKA_TOPIC_PREFIX": real_desk.settings.kafka_topic_prefix,
        "FIRSTCALL_HELPDESK_DATABASE_URL": real_desk.settings.database_url,
        "FIRSTCALL_HELPDESK_PORT": str(bridge_port),
        "FIRSTCALL_HELPDESK_RT_URL": f"http://127.0.0.1:{proxy_port}/",
        "FIRSTCALL_HELPDESK_RT_TOKEN": rt_token(),
        "FIRSTCALL_HELPDESK_ROUTER_URL": f"http://127.0.0.1:{router_port}",
        "FIRSTCALL_HELPDESK_ROUTER_API_KEY": real_desk.router_key,
        "FIRSTCALL_HELPDESK_POLL_INTERVAL_SECONDS": "0.5",
        "FIRSTCALL_HELPDESK_EFFECT_BACKOFF_INITIAL_SECONDS": "0.2",
        "FIRSTCALL_HELPDESK_EFFECT_BACKOFF_MAX_SECONDS": "2",
        "FIRSTCALL_HELPDESK_LEASE_SECONDS": "2",
    }
    bridge_url, log = f"http://127.0.0.1:{bridge_port}", tmp_path / "bridge.log"
    async with serving(real_desk.router_app, router_port), serving(proxy.app, proxy_port):
        proxy.victim = bridge_process(env, log)
        await wait_until(lambda: ready(bridge_url), timeout=WAIT, every=0.2)
        user, _ = create_agent(f"grace-{uuid.uuid4().hex[:8]}")
        agent = (await real_desk.router.post("/v1/agents", json=agent_request(display_name="Grace"))).json()
        async with httpx.AsyncClient(base_url=bridge_url, headers=ADMIN, timeout=30) as bridge:
            linked = await bridge.put(f"/v1/agent-links/{agent['id']}", json={"rt_user": user})
            assert linked.status_code == 200, linked.text
            ticket = (await real_desk.router.post("/v1/tickets", json=ticket_request())).json()
            await asyncio.wait_for(proxy.killed.wait(), WAIT)

            proxy.victim = bridge_process(env, log)  # started again: nothing is killed any more
            try:
                await wait_until(lambda: ready(bridge_url), timeout=WAIT, every=0.2)
                rt_id = await wait_until(lambda: _rt_ticket(bridge, ticket["id"]), timeout=WAIT, every=0.3)
                await wait_until(lambda: _nothing_waits(bridge), timeout=WAIT, every=0.3)
            finally:
                proxy.victim.send_signal(signal.SIGTERM)
                proxy.victim.wait(timeout=30)
    await proxy.rt.aclose()

    async with rt_async_client() as client:
        query = {"query": f"'CF.{{firstcall ticket}}' = '{ticket['id']}'"}
        assert (await client.get("tickets", params=query)).json()["count"] == 1
    assert sum(s.startswith("firstcall: context for Grace") for s in await rt_comments(rt_id)) == 1


async def _rt_ticket(bridge: httpx.AsyncClient, ticket_id: str) -> int | None:
    response = await bridge.get(f"/v1/tickets/{ticket_id}/link")
    return (
        int(response.json()["rt_ticket_id"])
        if response.status_code == 200 and response.json()["rt_ticket_id"]
        else None
    )


async def _nothing_waits(bridge: httpx.AsyncClient) -> bool:
    status = (await bridge.get("/v1/sync")).json()
    return bool(status["pending_effects"] == 0)
