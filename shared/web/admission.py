"""Admission control: a process serves a bounded number of requests at once and sheds the rest early.

Past its capacity a server that accepts everything answers everything late: requests pile up waiting for
a database connection, clients give up after their timeout while the server still finishes the work, and
goodput collapses (measured in bench/ticket_open.py: a router offered twice its capacity completed a fifth
of it, every answer too late). Bounding the requests in flight keeps the latency of the admitted ones
near the service time (Little's law: in flight = throughput x latency), and a request that cannot get a
slot within `queue_timeout` is answered at once with 503 and Retry-After, which well-behaved clients
and load balancers retry elsewhere or later. Probes and scrapes are never shed: an overloaded replica is
still alive, and its metrics are what tells ops it is overloaded.
"""

from __future__ import annotations

import asyncio

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.errors import PROBLEM_BASE, PROBLEM_JSON
from shared.metrics import ServiceMetrics

_NEVER_SHED = frozenset({"/healthz", "/readyz", "/metrics"})
# Server-sent event streams (the router's /v1/agents/{id}/events) stay open for minutes: each would hold a
# slot all that time, and a few dozen desktops would shut the process to every other request. They are
# bounded by limits of their own (docs/desktop-push.md).
_STREAM_SUFFIX = "/events"
RETRY_AFTER_SECONDS = 1


class AdmissionMiddleware:
    """At most `max_in_flight` requests at once; one that waits `queue_timeout` seconds for a slot gets 503."""

    def __init__(self, app: ASGIApp, *, max_in_flight: int, queue_timeout: float, metrics: ServiceMetrics) -> None:
        self.app, self.queue_timeout, self.metrics = app, queue_timeout, metrics
        self.max_in_flight = max_in_flight
        self._slots = asyncio.Semaphore(max_in_flight)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in _NEVER_SHED or _is_stream(scope):
            await self.app(scope, receive, send)
            return
        if not await self._admit():
            self.metrics.http_shed.inc()
            await self._refuse(scope, send)
            return
        self.metrics.http_in_flight.inc()
        try:
            await self.app(scope, receive, send)
        finally:
            self.metrics.http_in_flight.dec()
            self._slots.release()

    async def _admit(self) -> bool:
        if not self._slots.locked():
            await self._slots.acquire()  # a free slot: returns without suspending
            return True
        try:
            async with asyncio.timeout(self.queue_timeout):
                await self._slots.acquire()
        except TimeoutError:
            return False
        return True

    async def _refuse(self, scope: Scope, send: Send) -> None:
        body = orjson.dumps(
            {
                "type": PROBLEM_BASE + "overloaded",
                "title": "The service is at capacity",
                "status": 503,
                "detail": f"{self.max_in_flight} requests are in progress; retry after {RETRY_AFTER_SECONDS} s.",
                "instance": scope.get("path", ""),
            }
        )
        headers = [
            (b"content-type", PROBLEM_JSON.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
        ]
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _is_stream(scope: Scope) -> bool:
    return bool(scope["method"] == "GET" and scope["path"].endswith(_STREAM_SUFFIX))
