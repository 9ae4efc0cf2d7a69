"""The demo's contact-center message desk: where the notifier sends what it tells customers who have no email.

A real contact center relays these messages by chat, SMS or the app; the demo keeps them, so the story can
say who was told what, and how many times. Each delivery is checked as a receiver should check it: the
HMAC-SHA256 signature over the timestamp and the raw body, with the secret given when subscribing.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import secrets
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request, Response

from shared.preflight import listening_socket

MAX_MESSAGES = 10_000  # the demo tells a handful; a runaway sender does not fill the memory


@dataclass
class MessageDesk:
    """Messages for customers, as the contact center received them (signature checked, deduplicated on the
    delivery id as the notifier asks receivers to)."""

    secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    url: str = ""
    messages: list[dict[str, Any]] = field(default_factory=list)
    refused: int = 0
    _deliveries: set[str] = field(default_factory=set)

    def told(self, kind: str) -> Counter[str]:
        """How many messages of `kind` ("acknowledgement", "resolution") each customer id received."""
        return Counter(m["customer_id"] for m in self.messages if m.get("kind") == kind)

    def receive(self, body: bytes, headers: dict[str, str]) -> int:
        """Keep one delivery; the HTTP status to answer."""
        timestamp, signature = headers.get("x-firstcall-timestamp", ""), headers.get("x-firstcall-signature", "")
        expected = hmac.new(self.secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(signature, f"v1={expected}"):
            self.refused += 1
            return 401
        delivery = headers.get("x-firstcall-delivery", "")
        if delivery not in self._deliveries and len(self.messages) < MAX_MESSAGES:
            self._deliveries.add(delivery)
            self.messages.append(json.loads(body))
        return 204

    def app(self) -> FastAPI:
        app = FastAPI(title="demo message desk", openapi_url=None)

        @app.post("/messages")
        async def messages(request: Request) -> Response:
            return Response(status_code=self.receive(await request.body(), dict(request.headers)))

        return app


class _QuietServer(uvicorn.Server):
    """Leaves Ctrl-C to the services it runs beside."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def message_desk(host: str = "127.0.0.1") -> AsyncIterator[MessageDesk]:
    """A message desk served on a free port of `host` for as long as the context lasts."""
    desk = MessageDesk()
    sock = listening_socket(host, 0, service="demo")
    desk.url = f"http://{host}:{sock.getsockname()[1]}/messages"
    server = _QuietServer(uvicorn.Config(desk.app(), log_config=None, access_log=False, lifespan="off"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield desk
    finally:
        server.should_exit = True
        await serving
        sock.close()
