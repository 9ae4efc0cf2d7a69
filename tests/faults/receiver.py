"""The contact center's webhook, where the notifier sends customers' messages: it can hold one request open.

Holding a request keeps the notifier's delivery worker in the middle of a send, so the campaign can kill the
replica whose worker is sending (known from the request's source port) before the outcome is recorded. The
receiver deduplicates on `X-Firstcall-Delivery`, as the notifier's docs ask receivers to do.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

SECRET = "fault-campaign-center-secret"


@dataclass(frozen=True)
class Message:
    delivery_id: str
    customer_id: str
    problem_id: str
    kind: str
    source_port: int


@dataclass
class CenterWebhook:
    port: int = 0
    messages: list[Message] = field(default_factory=list)
    hold_for: frozenset[str] = frozenset()  # customers whose next message is held
    held: asyncio.Event = field(default_factory=asyncio.Event)
    held_message: Message | None = None
    _release: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/messages"

    def hold_one(self, customers: frozenset[str]) -> None:
        """The next message to one of `customers` is recorded as received, its answer withheld until `release`."""
        self.held.clear()
        self._release.clear()
        self.held_message = None
        self.hold_for = customers

    def release(self) -> None:
        self._release.set()

    def received_per_notice(self, problem_id: str) -> Counter[tuple[str, str]]:
        """Messages received per (customer, kind) of one problem, copies with the same delivery id included."""
        return Counter((m.customer_id, m.kind) for m in self.messages if m.problem_id == problem_id)

    def deliveries_per_notice(self, problem_id: str) -> Counter[tuple[str, str]]:
        """Distinct deliveries per (customer, kind) of one problem: what a deduplicating receiver shows."""
        distinct = {(m.customer_id, m.kind, m.delivery_id) for m in self.messages if m.problem_id == problem_id}
        return Counter((customer, kind) for customer, kind, _ in distinct)

    async def _receive(self, request: Request) -> Response:
        body: dict[str, Any] = orjson.loads(await request.body())
        message = Message(
            delivery_id=request.headers.get("x-firstcall-delivery", ""),
            customer_id=str(body.get("customer_id")),
            problem_id=str(body.get("problem_id")),
            kind=str(body.get("kind")),
            source_port=request.client.port if request.client else 0,
        )
        self.messages.append(message)
        if message.customer_id in self.hold_for:
            self.hold_for = frozenset()
            self.held_message = message
            self.held.set()
            await self._release.wait()
        return Response(status_code=204)


@contextlib.asynccontextmanager
async def center_webhook() -> AsyncIterator[CenterWebhook]:
    """The receiver on a free loopback port for the duration of the block."""
    receiver = CenterWebhook()
    app = Starlette(routes=[Route("/messages", receiver._receive, methods=["POST"])])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    receiver.port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
        await asyncio.sleep(0.01)
    try:
        yield receiver
    finally:
        receiver.release()
        server.should_exit = True
        await task
        sock.close()
