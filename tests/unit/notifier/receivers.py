"""Real servers the notifier delivers to in tests: a webhook receiver and an SMTP server, both local.

The receiver checks every signature the way a customer's system would (independently of the notifier's
code) and can be told to fail, answer slowly or refuse; the SMTP server (aiosmtpd) can refuse mail.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

import orjson
import uvicorn
from aiosmtpd.controller import Controller
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    signature_ok: bool

    @property
    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class WebhookReceiver:
    """Answers POST /hook: `fail_next` times with `failure_status`, after `delay` seconds, then 200."""

    secret: str
    fail_next: int = 0
    failure_status: int = 500
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def accepted(self) -> list[Received]:
        """Deliveries answered with 2xx: what the receiving system actually took in."""
        return [r for r in self.received if r.headers.get("x-test-outcome") == "accepted"]

    async def arrived(self) -> list[Received]:
        """`accepted()` as a probe for wait_until."""
        return self.accepted()

    async def _hook(self, request: Request) -> Response:
        body = await request.body()
        headers = dict(request.headers)
        timestamp = headers.get("x-firstcall-timestamp", "0")
        expected = "v1=" + hmac.new(self.secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
        fresh = abs(time.time() - int(timestamp)) < 300
        ok = fresh and hmac.compare_digest(expected, headers.get("x-firstcall-signature", ""))
        if self.delay:
            await asyncio.sleep(self.delay)
        if not ok:
            self.received.append(Received({**headers, "x-test-outcome": "bad-signature"}, body, ok))
            return Response(status_code=401)
        if self.fail_next > 0:
            self.fail_next -= 1
            self.received.append(Received({**headers, "x-test-outcome": "failed"}, body, ok))
            return Response(status_code=self.failure_status)
        self.received.append(Received({**headers, "x-test-outcome": "accepted"}, body, ok))
        return Response(status_code=204)


@contextlib.asynccontextmanager
async def webhook_receiver(secret: str = "receiver-shared-secret-1") -> AsyncIterator[WebhookReceiver]:
    """A receiver listening on a free local port for the duration of the block."""
    receiver = WebhookReceiver(secret=secret)
    app = Starlette(routes=[Route("/hook", receiver._hook, methods=["POST"])])
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
        server.should_exit = True
        await task
        sock.close()


class _MailHandler:
    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        if self.mailbox.refuse_next > 0:
            self.mailbox.refuse_next -= 1
            self.mailbox.refused += 1
            return "451 4.3.0 Mailbox temporarily unavailable"
        self.mailbox.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@dataclass
class Mailbox:
    refuse_next: int = 0
    refused: int = 0
    messages: list[Message] = field(default_factory=list)
    port: int = 0

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if m["To"] == address]


@contextlib.asynccontextmanager
async def smtp_server() -> AsyncIterator[Mailbox]:
    """A real SMTP server (aiosmtpd, in a thread of its own) on a free local port, collecting what it accepts.

    It is stopped from another thread: stopping waits for open sessions, and the notifier holding one
    runs on this event loop, which must keep turning meanwhile.
    """
    mailbox = Mailbox(port=free_port())
    controller = Controller(_MailHandler(mailbox), hostname="127.0.0.1", port=mailbox.port)
    await asyncio.to_thread(controller.start)
    try:
        yield mailbox
    finally:
        await asyncio.to_thread(controller.stop)
